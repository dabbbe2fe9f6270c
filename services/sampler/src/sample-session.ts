// The state of one SamplerService.Sample stream (sequence ids are uint64, hence bigint): the sequences a model runner opened on it and their
// sampler. The vocabulary size is learnt from the first logits (the sampler holds no model), so sequences
// opened before any logits arrived wait here until then.

import { LlmError, toLlmError } from "@llm/errors";
import type { MessageInitShape, SampledTokenSchema, SampleRequest, SequenceLogits, SequenceStart } from "@llm/proto";
import {
  type BatchResult,
  type ConstraintMatcher,
  isBatchFailure,
  isConstrained,
  Sampler,
  type StrategyRegistry,
} from "@llm/sampling";
import type { ConstraintCompilers } from "./constraint-compilers.js";

type SampledTokenInit = MessageInitShape<typeof SampledTokenSchema>;

export class SampleSession {
  private sampler: Sampler | undefined;
  /** Opened but not yet given to a sampler (no logits seen on this stream yet). */
  private readonly pending = new Map<bigint, { start: SequenceStart; matcher?: ConstraintMatcher }>();
  /** Sequences whose opening failed: each of their steps reports the failure until they are closed. */
  private readonly failed = new Map<bigint, LlmError>();

  constructor(
    private readonly registry: StrategyRegistry,
    private readonly compilers: ConstraintCompilers,
  ) {}

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
    // Sequences that cannot be sampled are answered here; the rest go to the sampler as one batch.
    const results: (BatchResult | undefined)[] = steps.map(({ sequenceId, logits }) => {
      const error = this.failed.get(sequenceId) ?? logitsProblem(logits, sampler.vocabSize);
      return error ? { sequenceId: String(sequenceId), error } : undefined;
    });
    const ready = steps.flatMap((step, index) => (results[index] ? [] : [{ index, step }]));
    const sampled = sampler.sampleBatch(
      ready.map(({ step }) => ({ sequenceId: String(step.sequenceId), logits: float32View(step.logits) })),
    );
    ready.forEach(({ index }, i) => {
      results[index] = sampled[i];
    });
    return results.map((result, i) => toProto(steps[i].sequenceId, result as BatchResult));
  }

  /** The stream's sampler, created at the first logits; pending sequences open on it then. */
  private samplerFor(first: SequenceLogits): Sampler {
    if (this.sampler) return this.sampler;
    const bytes = first.logits.byteLength;
    if (bytes === 0 || bytes % 4 !== 0) {
      throw new LlmError(
        "invalid_argument",
        `the first logits on this stream have ${bytes} bytes: expected 4 bytes (float32) per vocabulary entry`,
      );
    }
    const sampler = new Sampler({ vocabSize: bytes / 4, registry: this.registry });
    this.sampler = sampler;
    for (const { start, matcher } of this.pending.values()) this.start(sampler, start, matcher);
    this.pending.clear();
    return sampler;
  }

  private close(id: bigint): void {
    this.pending.get(id)?.matcher?.dispose();
    this.pending.delete(id);
    this.failed.delete(id);
    this.sampler?.close(String(id));
  }
}

function logitsProblem(logits: Uint8Array, vocabSize: number): LlmError | undefined {
  if (logits.byteLength === vocabSize * 4) return undefined;
  return new LlmError(
    "invalid_argument",
    `logits have ${logits.byteLength} bytes; this stream's vocabulary of ${vocabSize} needs ${vocabSize * 4} (float32 LE)`,
  );
}

/** Little-endian float32 bytes (this sampler runs on little-endian hosts) as a Float32Array, copied only when unaligned. */
function float32View(bytes: Uint8Array): Float32Array {
  if (bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  return new Float32Array(new Uint8Array(bytes).buffer); // a copy with its own buffer (Buffer.slice would share)
}

function toProto(sequenceId: bigint, result: BatchResult): SampledTokenInit {
  if (isBatchFailure(result)) {
    return { sequenceId, error: { code: result.error.code, message: result.error.message } };
  }
  return {
    sequenceId,
    tokenId: result.tokenId,
    logprob: result.logprob ?? 0,
    topLogprobs: result.topLogprobs ?? [],
  };
}
