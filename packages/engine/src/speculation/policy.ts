// How many tokens to propose, per sequence and step: a plugin, because where speculation stops paying depends on
// the model, the hardware and the proposer. The default proposes the k-th token only while the chance that it is
// used (the k before it all accepted: acceptance^k) beats what proposing it costs, halves k in a batch past half
// the crossover, turns speculation off past it, and verifies only at batch sizes where it measures verifying
// steps emitting tokens faster than plain ones (SpeedLedger).
import { SpeedLedger } from "./speed-ledger.js";

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

/** A decode-only step: its rows, whether it verified proposals, how long it took and the tokens it emitted. */
export interface StepSpeed {
  rows: number;
  speculated: boolean;
  /** The proposers of the step's speculating rows, sorted and joined by "+" (whether or not it verified). */
  proposers: string;
  ms: number;
  tokens: number;
  /**
   * Of `ms`, the draft's prefill of sequences that (re)joined it: paid once when a sequence starts speculating
   * again, not by verifying (counted as a verify step's cost, it kept speculation off for good).
   */
  catchUpMs: number;
}

export interface SpeculationPolicy {
  /** Tokens to propose for one sequence this step; 0 decodes it plainly. */
  lookahead(context: LookaheadContext): number;
  /**
   * Optional: whether a step of `rows` decode rows verifies proposals at all (default: yes). `paddingPeriod`: the
   * decode batch's (DecodeBatch); above 1, rows that keep different numbers of positions split the batch.
   */
  speculate?(step: { rows: number; paddingPeriod: number; proposers: string }): boolean;
  /** Optional: told each decode-only step's speed. */
  observe?(speed: StepSpeed): void;
}

export interface LoadAwarePolicyOptions {
  /** Most proposals per sequence and step. */
  maxLookahead: number;
  /** Above this many decode rows no sequence speculates (the measured crossover; bench/speculative.ts). */
  maxBatchSize: number;
}

export const DEFAULT_POLICY_OPTIONS: LoadAwarePolicyOptions = { maxLookahead: 4, maxBatchSize: 8 };

/** The policies a deployment chooses by name (LLM_SPECULATIVE_POLICY). */
export type PolicyName = "load-aware" | "fixed";

export function policyNamed(name: PolicyName, options: LoadAwarePolicyOptions): SpeculationPolicy {
  return name === "fixed" ? fixedPolicy(options) : loadAwarePolicy(options);
}

/**
 * maxLookahead proposals for every speculating sequence in every step of at most maxBatchSize rows, whatever the
 * timings say: for hardware whose crossover was measured (bench/speculative.ts), and for runs that must speculate
 * the same way on any machine (the timed policy below turns itself off on a slow or busy one).
 */
export function fixedPolicy({ maxLookahead, maxBatchSize }: LoadAwarePolicyOptions): SpeculationPolicy {
  return { lookahead: ({ batchSize }) => (batchSize > maxBatchSize ? 0 : maxLookahead) };
}

/** A proposal must be used at least this often to be worth its verify row, however cheap to make. */
const MIN_USE = 0.1;

/** The default: k from acceptance and the priced costs, and speculation only where the ledger measures it paying. */
export function loadAwarePolicy(options: LoadAwarePolicyOptions = DEFAULT_POLICY_OPTIONS): SpeculationPolicy {
  const ledger = new SpeedLedger();
  return {
    // With a padding period (the standard layout on SIMD CPU kernels), rows that keep different numbers of positions
    // land in different length classes, and the batch then needs a forward per class for the rest of their lives
    // (measured 0.6-0.8x at 2-4 streams): only a lone row speculates there.
    speculate: ({ rows, paddingPeriod, proposers }) =>
      (rows === 1 || paddingPeriod === 1) && ledger.speculate(rows, proposers),
    observe: ({ rows, proposers, speculated, ms, tokens, catchUpMs }) =>
      ledger.observe(rows, proposers, speculated, ms - catchUpMs, tokens),
    lookahead({ batchSize, acceptance, proposalCost }) {
      if (batchSize > options.maxBatchSize) return 0;
      const worth = Math.max(MIN_USE, proposalCost);
      let k = 0;
      while (k < options.maxLookahead && acceptance ** (k + 1) > worth) k++;
      return batchSize > options.maxBatchSize / 2 ? Math.ceil(k / 2) : k;
    },
  };
}
