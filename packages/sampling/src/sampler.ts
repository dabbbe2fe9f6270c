import { LlmError, toLlmError } from "@llm/errors";
import type { PrunedRow } from "./candidate-bound.js";
import type { ConstraintCompiler } from "./constraints/compiler.js";
import { isConstrained } from "./constraints/spec.js";
import { createStrategyRegistry } from "./registry.js";
import { type OpenSequenceOptions, type SampledToken, SequenceSampler } from "./sequence-sampler.js";
import type { StrategyInfo, StrategyRegistry } from "./strategy.js";
import { validateSamplingParams } from "./validate.js";
import { Workspace } from "./workspace.js";

export type SequenceId = string | number;

export interface BatchItem {
  sequenceId: SequenceId;
  /**
   * This sequence's last-position logits: a vocab-sized view into the step's [batch, vocab] buffer, or only
   * the survivors of the sequence's candidate bound (SequenceSampler.samplePruned).
   */
  logits: Float32Array | PrunedRow;
  /**
   * Speculative proposals for this sequence's next tokens: `logits` then holds proposed.length + 1 full rows
   * (SequenceSampler.verify).
   */
  proposed?: readonly number[];
}

export type BatchSample = SampledToken & {
  sequenceId: SequenceId;
  /** With proposals: the accepted ones, drawn before `tokenId` (which differs from its proposal, or follows them all). */
  accepted?: SampledToken[];
};

/** A draft model's row for one sequence: see SequenceSampler.propose. */
export interface ProposalItem {
  sequenceId: SequenceId;
  logits: Float32Array;
  /** How many proposals precede this one in the current step. */
  ahead: number;
}
/** A sequence that could not be sampled this step; the rest of the batch is unaffected. */
export interface BatchFailure {
  sequenceId: SequenceId;
  error: LlmError;
}
export type BatchResult = BatchSample | BatchFailure;

export interface SamplerOptions {
  vocabSize: number;
  /** Strategies sequences may name; default: a registry with the built-ins. */
  registry?: StrategyRegistry;
  /** Compiles params.constraint for this vocabulary; without one, constrained sequences are refused. */
  constraints?: ConstraintCompiler;
}

/**
 * The sampler a model runner links in-process: it holds every open sequence's state and samples a whole
 * batch per engine step. Scratch memory is allocated once here, never per step.
 */
export class Sampler {
  readonly vocabSize: number;
  readonly registry: StrategyRegistry;
  private readonly workspace: Workspace;
  private readonly sequences = new Map<SequenceId, SequenceSampler>();
  readonly constraints: ConstraintCompiler | undefined;

  constructor(options: SamplerOptions) {
    if (!(Number.isSafeInteger(options.vocabSize) && options.vocabSize > 0)) {
      throw new LlmError("invalid_argument", `vocabSize must be a positive integer, got ${options.vocabSize}`);
    }
    this.vocabSize = options.vocabSize;
    this.registry = options.registry ?? createStrategyRegistry();
    this.workspace = new Workspace(options.vocabSize);
    this.constraints = options.constraints;
  }

  /**
   * Starts a sequence; throws LlmError("invalid_argument") on bad params, seed or prompt ids. A constrained
   * sequence needs its grammar compiled first: open it with openSequence.
   */
  open(sequenceId: SequenceId, options: OpenSequenceOptions = {}): SequenceSampler {
    if (this.sequences.has(sequenceId)) {
      throw new LlmError("failed_precondition", `sequence ${String(sequenceId)} is already open`);
    }
    if (isConstrained(options.params?.constraint) && !options.matcher && !this.constraints)
      throw constraintsUnavailable();
    const sequence = new SequenceSampler(this.workspace, this.registry, options);
    this.sequences.set(sequenceId, sequence);
    return sequence;
  }

  /**
   * Like open, for any params: a constraint is compiled first (cached; off the caller's step, see
   * ConstraintCompiler) and the sequence starts at the beginning of its language.
   */
  async openSequence(sequenceId: SequenceId, options: OpenSequenceOptions = {}): Promise<SequenceSampler> {
    const constraint = options.params?.constraint;
    if (!isConstrained(constraint)) return this.open(sequenceId, options);
    validateSamplingParams(options.params, this.vocabSize, this.registry); // cheap problems first
    if (!this.constraints) throw constraintsUnavailable();
    const matcher = await this.constraints.matcher(constraint);
    try {
      return this.open(sequenceId, { ...options, matcher });
    } catch (err) {
      matcher.dispose();
      throw err;
    }
  }

  /** Settles when every constrained sequence's next mask is computed: await it before sampleBatch. */
  async ready(): Promise<void> {
    const pending = [];
    for (const sequence of this.sequences.values()) {
      const ready = sequence.matcher?.ready;
      if (ready) pending.push(ready);
    }
    if (pending.length > 0) await Promise.all(pending);
  }

  /**
   * A draft model's proposals, one per item (SequenceSampler.propose); undefined for a sequence that is not open
   * or cannot verify (it then decodes without proposals).
   */
  propose(items: readonly ProposalItem[]): (number | undefined)[] {
    return items.map(({ sequenceId, logits, ahead }) => {
      const sequence = this.sequences.get(sequenceId);
      return sequence?.verifies ? sequence.propose(logits, ahead) : undefined;
    });
  }

  /** Drops a sequence's state; false when it was not open. */
  close(sequenceId: SequenceId): boolean {
    this.sequences.get(sequenceId)?.matcher?.dispose();
    return this.sequences.delete(sequenceId);
  }

  sequence(sequenceId: SequenceId): SequenceSampler | undefined {
    return this.sequences.get(sequenceId);
  }

  get openSequences(): number {
    return this.sequences.size;
  }

  strategies(): StrategyInfo[] {
    return this.registry.list();
  }

  /**
   * One engine step: a token for each item, in input order. A failing item (unknown or repeated sequence,
   * wrong logits length, a strategy that throws) yields a BatchFailure and leaves the others untouched.
   */
  sampleBatch(items: readonly BatchItem[]): BatchResult[] {
    const seen = new Set<SequenceId>();
    return items.map(({ sequenceId, logits, proposed }): BatchResult => {
      try {
        if (seen.has(sequenceId)) {
          throw new LlmError("invalid_argument", `sequence ${String(sequenceId)} appears twice in one step`);
        }
        seen.add(sequenceId);
        const sequence = this.sequences.get(sequenceId);
        if (!sequence) throw new LlmError("not_found", `sequence ${String(sequenceId)} is not open`);
        if (proposed && proposed.length > 0) {
          if (!(logits instanceof Float32Array)) throw new LlmError("invalid_argument", "proposals need full rows");
          const tokens = sequence.verify(logits, proposed);
          const last = tokens.pop() as SampledToken;
          return { sequenceId, ...last, accepted: tokens };
        }
        const token = logits instanceof Float32Array ? sequence.sample(logits) : sequence.samplePruned(logits);
        return { sequenceId, ...token };
      } catch (err) {
        return { sequenceId, error: toLlmError(err) };
      }
    });
  }
}

function constraintsUnavailable(): LlmError {
  return new LlmError("invalid_argument", "constraints are not available: this sampler has no vocabulary for them", {
    details: { field: "constraint" },
  });
}

export function isBatchFailure(result: BatchResult): result is BatchFailure {
  return "error" in result;
}
