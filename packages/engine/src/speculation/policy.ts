// How many tokens to propose, per sequence and step: a plugin, because where speculation stops paying depends on
// the model, the hardware and the proposer. The default shrinks k with a sequence's recent acceptance and with the
// decode batch, and turns speculation off past the batch size where a verify step costs more than it saves.

export interface LookaheadContext {
  /** Rows in this step's decode batch. */
  batchSize: number;
  /** The sequence's recent acceptance rate in [0, 1] (exponentially weighted over its verify steps). */
  acceptance: number;
  /** The proposer: "ngram" is nearly free to ask, "draft" runs a model for every proposal. */
  proposer: "ngram" | "draft";
}

export interface SpeculationPolicy {
  /** Tokens to propose for one sequence this step; 0 decodes it plainly. */
  lookahead(context: LookaheadContext): number;
}

export interface LoadAwarePolicyOptions {
  /** Most proposals per sequence and step. */
  maxLookahead: number;
  /** Above this many decode rows no sequence speculates (the measured crossover; bench/speculative.ts). */
  maxBatchSize: number;
}

export const DEFAULT_POLICY_OPTIONS: LoadAwarePolicyOptions = { maxLookahead: 4, maxBatchSize: 8 };

/**
 * k = maxLookahead scaled by the acceptance rate (at least 1 while speculating, so a sequence can recover), and
 * halved once the batch is past half the crossover (the verify forward's extra rows start to cost compute).
 */
export function loadAwarePolicy(options: LoadAwarePolicyOptions = DEFAULT_POLICY_OPTIONS): SpeculationPolicy {
  return {
    lookahead({ batchSize, acceptance }) {
      if (batchSize > options.maxBatchSize) return 0;
      const k = Math.max(1, Math.round(options.maxLookahead * acceptance));
      return batchSize > options.maxBatchSize / 2 ? Math.ceil(k / 2) : k;
    },
  };
}
