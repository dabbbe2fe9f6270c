// A request's speculative mode, and what a speculating sequence carries.

export type SpeculativeMode = "off" | "ngram" | "draft";

/** One sequence's speculation: its proposer and what verification made of its proposals. */
export interface SpeculationState {
  proposer: "ngram" | "draft";
  /** Recent acceptance rate, exponentially weighted over verify steps (starts at 1: speculate fully first). */
  acceptance: number;
  proposedTokens: number;
  acceptedTokens: number;
}
