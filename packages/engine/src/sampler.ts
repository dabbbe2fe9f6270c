// The sampler contract the engine needs. The in-process @llm/sampling library and a remote sampler client
// both plug in here; the engine never looks at the sampling params, it only passes them through.

import type { SampledToken } from "@llm/sampling";

export type { SampledToken, TopLogprob } from "@llm/sampling";

/** One sequence's share of a step: a view of its last position's logits (vocab-sized). */
export interface SampleInput {
  seqId: string;
  logits: Float32Array;
}

/** Per sequence, so that one sequence's failure does not fail the batch. */
export type SampleResult = SampledToken | { error: Error };

export interface EngineSampler<P> {
  /**
   * Starts per-sequence state (seeded RNG, penalty counts); throws (or rejects) on invalid params. `outputIds`:
   * tokens generated before a takeover, counted as output; the next draw is token index `outputIds.length`.
   */
  open(seqId: string, params: P, promptIds: readonly number[], outputIds?: readonly number[]): void | Promise<void>;
  /** One call per engine step for the whole batch; results in input order. */
  sample(batch: readonly SampleInput[]): SampleResult[] | Promise<SampleResult[]>;
  close(seqId: string): void;
}
