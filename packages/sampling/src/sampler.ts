import { LlmError, toLlmError } from "@llm/errors";
import type { PrunedRow } from "./candidate-bound.js";
import { createStrategyRegistry } from "./registry.js";
import { type OpenSequenceOptions, type SampledToken, SequenceSampler } from "./sequence-sampler.js";
import type { StrategyInfo, StrategyRegistry } from "./strategy.js";
import { Workspace } from "./workspace.js";

export type SequenceId = string | number;

export interface BatchItem {
  sequenceId: SequenceId;
  /**
   * This sequence's last-position logits: a vocab-sized view into the step's [batch, vocab] buffer, or only
   * the survivors of the sequence's candidate bound (SequenceSampler.samplePruned).
   */
  logits: Float32Array | PrunedRow;
}

export type BatchSample = SampledToken & { sequenceId: SequenceId };
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

  constructor(options: SamplerOptions) {
    if (!(Number.isSafeInteger(options.vocabSize) && options.vocabSize > 0)) {
      throw new LlmError("invalid_argument", `vocabSize must be a positive integer, got ${options.vocabSize}`);
    }
    this.vocabSize = options.vocabSize;
    this.registry = options.registry ?? createStrategyRegistry();
    this.workspace = new Workspace(options.vocabSize);
  }

  /** Starts a sequence; throws LlmError("invalid_argument") on bad params, seed or prompt ids. */
  open(sequenceId: SequenceId, options: OpenSequenceOptions = {}): SequenceSampler {
    if (this.sequences.has(sequenceId)) {
      throw new LlmError("failed_precondition", `sequence ${String(sequenceId)} is already open`);
    }
    const sequence = new SequenceSampler(this.workspace, this.registry, options);
    this.sequences.set(sequenceId, sequence);
    return sequence;
  }

  /** Drops a sequence's state; false when it was not open. */
  close(sequenceId: SequenceId): boolean {
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
    return items.map(({ sequenceId, logits }): BatchResult => {
      try {
        if (seen.has(sequenceId)) {
          throw new LlmError("invalid_argument", `sequence ${String(sequenceId)} appears twice in one step`);
        }
        seen.add(sequenceId);
        const sequence = this.sequences.get(sequenceId);
        if (!sequence) throw new LlmError("not_found", `sequence ${String(sequenceId)} is not open`);
        const token = logits instanceof Float32Array ? sequence.sample(logits) : sequence.samplePruned(logits);
        return { sequenceId, ...token };
      } catch (err) {
        return { sequenceId, error: toLlmError(err) };
      }
    });
  }
}

export function isBatchFailure(result: BatchResult): result is BatchFailure {
  return "error" in result;
}
