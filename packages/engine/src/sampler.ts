// The sampler contract the engine needs. The in-process @llm/sampling library and a remote sampler client
// both plug in here; the engine never looks at the sampling params, it only passes them through.

import type { SampledToken } from "@llm/sampling";

export type { SampledToken, TopLogprob } from "@llm/sampling";

/** One sequence's share of a step: a view of its last position's logits (vocab-sized). */
export interface SampleInput {
  seqId: string;
  /** One row, or `proposed.length + 1` rows when the sequence speculates. */
  logits: Float32Array;
  /**
   * Speculative proposals for the sequence's next tokens: row j of `logits` is the model's distribution after the
   * first j of them. The sampler draws row 0, and the next row while the token drawn equals the proposal.
   */
  proposed?: readonly number[];
  /**
   * The same values as the model produced them, when it produces fp16 or bf16 (`logits` is their exact float32
   * widening): a remote sampler sends these, half the bytes.
   */
  half?: { dtype: "float16" | "bfloat16"; bits: Uint16Array };
}

/**
 * Per sequence, so that one sequence's failure does not fail the batch. With proposals, `accepted` holds the
 * proposals drawn (in order) before `tokenId`, the first token that differs from its proposal (or the one after all).
 */
export type SampleResult = (SampledToken & { accepted?: SampledToken[] }) | { error: Error };

/** What the sampler said of a sequence it opened. */
export interface OpenedSequence {
  /** Whether its rows can be verified (sample() takes proposals); a constrained sequence's cannot. */
  verifies: boolean;
}

/** A draft model's row for one sequence, `ahead` proposals past its next token. */
export interface ProposalInput {
  seqId: string;
  logits: Float32Array;
  ahead: number;
}

export interface EngineSampler<P> {
  /**
   * Starts per-sequence state (seeded RNG, penalty counts) and says whether it can verify proposals; throws (or
   * rejects) on invalid params. `outputIds`:
   * tokens generated before a takeover, counted as output; the next draw is token index `outputIds.length`.
   */
  open(
    seqId: string,
    params: P,
    promptIds: readonly number[],
    outputIds?: readonly number[],
  ): OpenedSequence | Promise<OpenedSequence>;
  /** One call per engine step for the whole batch; results in input order. */
  sample(batch: readonly SampleInput[]): SampleResult[] | Promise<SampleResult[]>;
  close(seqId: string): void;
  /**
   * Optional: a draft model's proposal per row, drawn as the sequence's strategy would draw at that index (so a
   * good draft proposes what verification will draw); undefined where the sequence cannot verify. Without it
   * the engine proposes the draft's most likely token.
   */
  propose?(rows: readonly ProposalInput[]): (number | undefined)[] | Promise<(number | undefined)[]>;
}
