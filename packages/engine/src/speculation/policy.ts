// How many tokens to propose, per sequence and step: a plugin, because where speculation stops paying depends on
// the model, the hardware and the proposer. The default proposes the k-th token only while the chance that it is
// used (the k before it all accepted: acceptance^k) beats what proposing it costs, halves k in a batch past half
// the crossover, and turns speculation off past the batch size where a verify step costs more than it saves.

export interface LookaheadContext {
  /** Rows in this step's decode batch. */
  batchSize: number;
  /** The sequence's recent acceptance rate in [0, 1] (exponentially weighted over its verify steps). */
  acceptance: number;
  /** The proposer: "ngram" is nearly free to ask, "draft" runs a model for every proposal. */
  proposer: "ngram" | "draft";
  /**
   * One more proposal's cost relative to a plain decode step of this batch, measured by the engine: its verify
   * position (`StepCost`), plus the draft's forward for "draft".
   */
  proposalCost: number;
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

/** A proposal must be used at least this often to be worth its verify row, however cheap to make. */
const MIN_USE = 0.1;

export function loadAwarePolicy(options: LoadAwarePolicyOptions = DEFAULT_POLICY_OPTIONS): SpeculationPolicy {
  return {
    lookahead({ batchSize, acceptance, proposalCost }) {
      if (batchSize > options.maxBatchSize) return 0;
      const worth = Math.max(MIN_USE, proposalCost);
      let k = 0;
      while (k < options.maxLookahead && acceptance ** (k + 1) > worth) k++;
      return batchSize > options.maxBatchSize / 2 ? Math.ceil(k / 2) : k;
    },
  };
}
