// A request's speculative mode, and what a speculating sequence carries.

export type SpeculativeMode = "off" | "ngram" | "draft";

/** One sequence's speculation: its proposer and what verification made of its proposals. */
export interface SpeculationState {
  proposer: "ngram" | "draft";
  /**
   * The chance that a proposal is accepted given the ones before it were (acceptanceOf): recent accepted proposals
   * over recent proposals actually judged (a run of k ends at its first rejection; the proposals after it say
   * nothing), each sum exponentially weighted over verify steps, from a prior of full acceptance.
   */
  judged: number;
  accepted: number;
  proposedTokens: number;
  acceptedTokens: number;
}

export function acceptanceOf(state: SpeculationState): number {
  return state.accepted / state.judged;
}
