import type { Candidates } from "./candidates.js";
import { expNonPositive, maxOf } from "./fast-exp.js";

// Building blocks that turn (adjusted) logits into a token: argmax, weighing, truncation filters and the
// draw. Every filter is tie-inclusive: a token is kept or dropped together with all tokens of equal logit.

/** Index of the largest value; ties go to the lowest id. */
export function argmax(values: Float32Array): number {
  let best = 0;
  let bestValue = values[0];
  for (let i = 1; i < values.length; i++) {
    if (values[i] > bestValue) {
      bestValue = values[i];
      best = i;
    }
  }
  return best;
}

/**
 * Temperature and softmax numerator in one: weight = exp((logit − best)/T), so the best candidate weighs 1.
 * Returns the total weight, the normaliser of the candidates' distribution.
 */
export function weighCandidates(values: Float32Array, candidates: Candidates, inverseTemperature: number): number {
  const { ids, weights, size } = candidates;
  let best = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < size; i++) {
    const v = values[ids[i]];
    if (v > best) best = v;
  }
  candidates.best = best;
  let total = 0;
  for (let i = 0; i < size; i++) {
    const weight = expNonPositive((values[ids[i]] - best) * inverseTemperature);
    weights[i] = weight;
    total += weight;
  }
  return total;
}

/**
 * weighCandidates for candidates listed with their own logits (a pruned row's first `count` survivors): the same
 * ids get the same weights. Returns the total weight.
 */
export function weighListed(
  tokenIds: ArrayLike<number>,
  values: Float32Array,
  count: number,
  candidates: Candidates,
  inverseTemperature: number,
): number {
  const { ids, weights } = candidates;
  let best = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < count; i++) if (values[i] > best) best = values[i];
  candidates.best = best;
  candidates.size = count;
  let total = 0;
  for (let i = 0; i < count; i++) {
    const weight = expNonPositive((values[i] - best) * inverseTemperature);
    ids[i] = tokenIds[i];
    weights[i] = weight;
    total += weight;
  }
  return total;
}

/** weighCandidates for the whole vocabulary as candidates, in one pass without indirection. */
export function weighVocabulary(values: Float32Array, candidates: Candidates, inverseTemperature: number): number {
  const { ids, weights } = candidates;
  const best = maxOf(values);
  candidates.best = best;
  candidates.size = values.length;
  let total = 0;
  for (let i = 0; i < values.length; i++) {
    const weight = expNonPositive((values[i] - best) * inverseTemperature);
    ids[i] = i;
    weights[i] = weight;
    total += weight;
  }
  return total;
}

/** Min-p filter over weighed candidates: keeps p >= minP · p_best, i.e. weight >= minP. */
export function truncateMinP(candidates: Candidates, minP: number): void {
  const { ids, weights } = candidates;
  let kept = 0;
  for (let i = 0; i < candidates.size; i++) {
    if (weights[i] >= minP) {
      ids[kept] = ids[i];
      weights[kept] = weights[i];
      kept++;
    }
  }
  candidates.size = kept;
}

/** Per-token uniforms in (0, 1) of one step: the same token id always gets the same number. */
export interface TokenNoise {
  uniform(tokenId: number): number;
}

/** Above this, a candidate's cheap lower bound already loses, whatever the rounding of its exact key. */
const BOUND_MARGIN = 1 + 1e-9;

/**
 * Draws a candidate with probability proportional to its weight by an exponential race (the Gumbel-max trick):
 * candidate i finishes at −ln(1 − u_i)/w_i, u_i being its own uniform, and the first to finish wins (ties: lower
 * id). A last-bit change in one logit moves only that candidate's time, so the winner changes only when the two
 * fastest finish within that change of each other (probability ≈ the logit's change / T); an inverse-CDF draw
 * instead shifts with the total mass, which crosses one of thousands of boundaries far more often. Most
 * candidates are ruled out without a logarithm, by −ln(1 − u) ≥ u.
 */
export function raceCandidates(candidates: Candidates, noise: TokenNoise): number {
  const { ids, weights, size } = candidates;
  let winner = -1;
  let bestTime = Number.POSITIVE_INFINITY;
  for (let i = 0; i < size; i++) {
    const weight = weights[i];
    if (!(weight > 0)) continue;
    const id = ids[i];
    const u = noise.uniform(id);
    if (u > bestTime * weight * BOUND_MARGIN) continue;
    const time = -Math.log1p(-u) / weight;
    if (time < bestTime || (time === bestTime && id < winner)) {
      bestTime = time;
      winner = id;
    }
  }
  return winner >= 0 ? winner : ids[0];
}
