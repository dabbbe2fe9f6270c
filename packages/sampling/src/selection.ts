import { type Candidates, sortByValue } from "./candidates.js";
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

/** Histogram bins per nat of (temperature-scaled) distance below the best candidate. */
const BINS_PER_NAT = 128;
/** 32 nats: beyond that a token weighs < 1.3e-14 of the best one; the last bin takes all the rest. */
const BINS = 32 * BINS_PER_NAT;
const LAST_BIN = BINS - 1;

/** Scratch for truncateTopP, allocated once per workspace. */
export function createMassHistogram(): Float64Array {
  return new Float64Array(BINS);
}

/**
 * Nucleus filter over weighed candidates: a token stays iff the mass of tokens strictly more likely than it
 * is below topP·total. That is the smallest most-likely set reaching topP, extended by ties at its edge.
 *
 * No sort of the candidates: one pass bins their mass by distance below the best one, which locates the
 * boundary bin; tokens in nearer bins are kept, farther ones dropped, and only the boundary bin (plus one
 * bin of slack for rounding in the bin sums) is sorted to place the edge exactly.
 */
export function truncateTopP(
  values: Float32Array,
  candidates: Candidates,
  inverseTemperature: number,
  topP: number,
  histogram: Float64Array,
): void {
  const { ids, weights, boundary, bins, best } = candidates;
  const size = candidates.size;
  const binScale = inverseTemperature * BINS_PER_NAT;

  // The last bin is never summed: the search below stops there anyway, and its shared slot would chain
  // every far-off token's add into one serial dependency.
  histogram.fill(0);
  let total = 0;
  for (let i = 0; i < size; i++) {
    const bin = binOf((best - values[ids[i]]) * binScale);
    bins[i] = bin;
    if (bin < LAST_BIN) histogram[bin] += weights[i];
    total += weights[i];
  }
  const target = topP * total;
  const edgeBin = edgeBinOf(histogram, target);

  // Keep the nearer bins in place, set the boundary ones aside, drop the rest.
  let kept = 0;
  let boundarySize = 0;
  let keptMass = 0;
  for (let i = 0; i < size; i++) {
    const bin = bins[i];
    if (bin < edgeBin) {
      ids[kept] = ids[i];
      weights[kept] = weights[i];
      keptMass += weights[i];
      kept++;
    } else if (bin <= edgeBin + 1) {
      boundary[boundarySize++] = ids[i];
    }
  }
  keepBoundary(values, candidates, inverseTemperature, kept, keptMass, boundarySize, target);
}

/**
 * weighVocabulary then truncateTopP in one: the same candidates, in the same order, with the same weights, bit
 * for bit (every sum adds the same terms in the same order). Faster because nothing is written per token: the
 * first pass sums each token's weight into the total and its bin, the second re-weighs only the kept tokens.
 */
export function truncateVocabularyTopP(
  values: Float32Array,
  candidates: Candidates,
  inverseTemperature: number,
  topP: number,
  histogram: Float64Array,
): void {
  const { ids, weights, boundary } = candidates;
  const best = maxOf(values);
  candidates.best = best;
  const binScale = inverseTemperature * BINS_PER_NAT;

  histogram.fill(0);
  let total = 0;
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    const weight = expNonPositive((value - best) * inverseTemperature);
    const bin = binOf((best - value) * binScale);
    if (bin < LAST_BIN) histogram[bin] += weight;
    total += weight;
  }
  const target = topP * total;
  const edgeBin = edgeBinOf(histogram, target);

  let kept = 0;
  let boundarySize = 0;
  let keptMass = 0;
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    const bin = binOf((best - value) * binScale);
    if (bin < edgeBin) {
      const weight = expNonPositive((value - best) * inverseTemperature);
      ids[kept] = i;
      weights[kept] = weight;
      keptMass += weight;
      kept++;
    } else if (bin <= edgeBin + 1) {
      boundary[boundarySize++] = i;
    }
  }
  keepBoundary(values, candidates, inverseTemperature, kept, keptMass, boundarySize, target);
}

/** A token's top-p bin from its scaled distance below the best one; the last bin takes the rest (and NaN). */
function binOf(scaled: number): number {
  return scaled < LAST_BIN ? scaled | 0 : LAST_BIN;
}

/** The first bin at which the cumulative mass reaches `target` (the last bin at most). */
function edgeBinOf(histogram: Float64Array, target: number): number {
  let edgeBin = 0;
  for (let cumulative = histogram[0]; cumulative < target && edgeBin < LAST_BIN; ) cumulative += histogram[++edgeBin];
  return edgeBin;
}

/**
 * After the `kept` candidates of nearer bins, walks the first `boundarySize` ids of `candidates.boundary` best
 * first, a group of equal logits at a time, until the mass kept reaches `target`; sets the candidates' size.
 */
function keepBoundary(
  values: Float32Array,
  candidates: Candidates,
  inverseTemperature: number,
  keptBefore: number,
  keptMassBefore: number,
  boundarySize: number,
  target: number,
): void {
  const { ids, weights, best } = candidates;
  const edge = candidates.boundary.subarray(0, boundarySize);
  sortByValue(values, edge);
  let kept = keptBefore;
  let keptMass = keptMassBefore;
  let i = 0;
  while (i < boundarySize && keptMass < target) {
    const value = values[edge[i]];
    for (; i < boundarySize && values[edge[i]] === value; i++) {
      const weight = expNonPositive((value - best) * inverseTemperature);
      ids[kept] = edge[i];
      weights[kept] = weight;
      keptMass += weight;
      kept++;
    }
  }
  candidates.size = kept;
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
