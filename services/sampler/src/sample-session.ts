// The state of one SamplerService.Sample stream (sequence ids are uint64, hence bigint): the sequences a
// model runner opened on it, their sampler, and the ring it attached. The vocabulary size is learnt from the
// first logits (the sampler holds no model), so sequences opened before any logits arrived wait here until then.

import { LlmError, toLlmError } from "@llm/errors";
import { RingReader } from "@llm/logits-ring";
import type {
  MessageInitShape,
  RingAnswerSchema,
  RingOffer,
  SampledTokenSchema,
  SampleRequest,
  SequenceLogits,
  SequenceStart,
} from "@llm/proto";
import {
  type BatchResult,
  type ConstraintMatcher,
  isBatchFailure,
  isConstrained,
  Sampler,
  type StrategyRegistry,
} from "@llm/sampling";
import type { ConstraintCompilers } from "./constraint-compilers.js";
import { type StepRow, StepRows } from "./step-rows.js";

type SampledTokenInit = MessageInitShape<typeof SampledTokenSchema>;
type RingAnswerInit = MessageInitShape<typeof RingAnswerSchema>;

export class SampleSession {
  private sampler: Sampler | undefined;
  /** Opened but not yet given to a sampler (no logits seen on this stream yet). */
  private readonly pending = new Map<bigint, { start: SequenceStart; matcher?: ConstraintMatcher }>();
  /** Sequences whose opening failed: each of their steps reports the failure until they are closed. */
  private readonly failed = new Map<bigint, LlmError>();
  /** Sequences whose candidate bound (or its absence) the runner has been told. */
  private readonly announced = new Set<bigint>();
  private readonly rows: StepRows;

  private ring: RingReader | undefined;

  constructor(
    private readonly registry: StrategyRegistry,
    private readonly compilers: ConstraintCompilers,
  ) {
    this.rows = new StepRows();
  }

  /** Answers a ring offer: attached when this process can open the runner's file and read its nonce back. */
  attachRing(offer: RingOffer): RingAnswerInit {
    if (this.ring) return { attached: false, reason: "this stream already attached a ring" };
    try {
      this.ring = RingReader.attach(offer.path, offer.nonce);
    } catch (err) {
      return { attached: false, reason: (err as Error).message };
    }
    this.rows.ring = this.ring;
    return { attached: true };
  }

  /** The stream ended: releases the ring's descriptor. */
  end(): void {
    this.ring?.close();
    this.ring = undefined;
  }

  /**
   * Applies one request (opened, then steps, then closed) and returns one token per step entry, in order.
   * Constraints were compiled by PrepareConstraint, so opening a constrained sequence is a cache hit here.
   */
  async apply(request: SampleRequest): Promise<SampledTokenInit[]> {
    await Promise.all(request.opened.map((start) => this.open(start)));
    let tokens: SampledTokenInit[] = [];
    if (request.steps.length > 0) {
      const sampler = this.samplerFor(request.steps[0]);
      await sampler.ready(); // constrained sequences' masks for this step
      tokens = this.sample(sampler, request.steps);
    }
    for (const id of request.closed) this.close(id);
    return tokens;
  }

  get openSequences(): number {
    return this.pending.size + this.failed.size + (this.sampler?.openSequences ?? 0);
  }

  private async open(start: SequenceStart): Promise<void> {
    const id = start.sequenceId;
    if (this.pending.has(id) || this.failed.has(id) || this.sampler?.sequence(String(id))) {
      this.failed.set(id, new LlmError("failed_precondition", `sequence ${id} is already open on this stream`));
      return;
    }
    let matcher: ConstraintMatcher | undefined;
    try {
      matcher = await this.matcherFor(start);
    } catch (err) {
      this.failed.set(id, toLlmError(err));
      return;
    }
    if (this.sampler) this.start(this.sampler, start, matcher);
    else this.pending.set(id, { start, matcher });
  }

  private async matcherFor({ params, vocabularyId }: SequenceStart): Promise<ConstraintMatcher | undefined> {
    const constraint = params?.constraint;
    if (!isConstrained(constraint)) return undefined;
    const compiler = this.compilers.known(vocabularyId);
    if (!compiler) {
      throw new LlmError(
        "failed_precondition",
        `vocabulary ${JSON.stringify(vocabularyId)} was not prepared on this sampler`,
      );
    }
    return (await compiler).matcher(constraint);
  }

  private start(sampler: Sampler, start: SequenceStart, matcher: ConstraintMatcher | undefined): void {
    const { sequenceId, params, seed, promptTokenIds, outputTokenIds } = start;
    try {
      sampler.open(String(sequenceId), { params, seed, promptTokenIds, outputTokenIds, matcher });
    } catch (err) {
      matcher?.dispose();
      this.failed.set(sequenceId, toLlmError(err));
    }
  }

  private sample(sampler: Sampler, steps: readonly SequenceLogits[]): SampledTokenInit[] {
    const rows = this.rows.decode(steps, sampler.vocabSize);
    // Sequences that cannot be sampled are answered here; the rest go to the sampler as one batch.
    const results: (BatchResult | undefined)[] = steps.map(({ sequenceId }, i) => {
      const error = this.failed.get(sequenceId) ?? rows[i];
      return error instanceof LlmError ? { sequenceId: String(sequenceId), error } : undefined;
    });
    const ready = steps.flatMap((step, index) => (results[index] ? [] : [{ index, step }]));
    const sampled = sampler.sampleBatch(
      ready.map(({ index, step }) => ({
        sequenceId: String(step.sequenceId),
        logits: rows[index] as Exclude<StepRow, LlmError>,
        proposed: step.proposedTokens,
      })),
    );
    ready.forEach(({ index }, i) => {
      results[index] = sampled[i];
    });
    return results.map((result, i) => this.toProto(steps[i].sequenceId, result as BatchResult));
  }

  /** The stream's sampler, created at the first logits; pending sequences open on it then. */
  private samplerFor(first: SequenceLogits): Sampler {
    if (this.sampler) return this.sampler;
    const sampler = new Sampler({ vocabSize: StepRows.vocabOf(first), registry: this.registry });
    this.sampler = sampler;
    for (const { start, matcher } of this.pending.values()) this.start(sampler, start, matcher);
    this.pending.clear();
    return sampler;
  }

  /** The token; a sequence's first one also carries its strategy's candidate bound, if it declared one. */
  private toProto(sequenceId: bigint, result: BatchResult): SampledTokenInit {
    if (isBatchFailure(result)) {
      return { sequenceId, error: { code: result.error.code, message: result.error.message } };
    }
    const token: SampledTokenInit = {
      sequenceId,
      tokenId: result.tokenId,
      logprob: result.logprob ?? 0,
      topLogprobs: result.topLogprobs ?? [],
      accepted: (result.accepted ?? []).map(({ tokenId, logprob, topLogprobs }) => ({
        tokenId,
        logprob: logprob ?? 0,
        topLogprobs: topLogprobs ?? [],
      })),
    };
    if (!this.announced.has(sequenceId)) {
      this.announced.add(sequenceId);
      token.candidateBound = this.sampler?.sequence(String(sequenceId))?.pruneSpec;
    }
    return token;
  }

  private close(id: bigint): void {
    this.pending.get(id)?.matcher?.dispose();
    this.pending.delete(id);
    this.failed.delete(id);
    this.announced.delete(id);
    this.sampler?.close(String(id));
  }
}
