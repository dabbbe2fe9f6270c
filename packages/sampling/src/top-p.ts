import { type Candidates, sortByValue } from "./candidates.js";
import { expNonPositive, maxOf } from "./fast-exp.js";

// The nucleus (top-p) filter. A token stays iff the mass of tokens strictly more likely than it is below
// topP·total: the smallest most-likely set reaching topP, extended by ties at its edge. Seeded tokens depend on
// every bit of the result (which tokens, in which order, with which weights), so the fast forms below give
// exactly what truncateTopP gives after weighVocabulary.

/** Histogram bins per nat of (temperature-scaled) distance below the best candidate. */
const BINS_PER_NAT = 128;
/** 32 nats: beyond that a token weighs < 1.3e-14 of the best one; the last bin takes all the rest. */
const BINS = 32 * BINS_PER_NAT;
const LAST_BIN = BINS - 1;
const BIN_WIDTH = 1 / BINS_PER_NAT;
/** e^(−b/128): the weight at the top of bin b. */
const BIN_TOP = Float64Array.from({ length: BINS }, (_, bin) => Math.exp(-bin / BINS_PER_NAT));
/**
 * Relative error bound of a bin's approximate mass: e^−g ≈ 1 − g + g²/2 for g < 1/128 is off by less than
 * g³/6 < 8e-8; the rest is room for the rounding of e^(−b/128), of expNonPositive and of the bin's sum.
 */
const APPROXIMATION = 2e-7;
/** Relative error bound of a float64 sum of at most 2^21 non-negative terms (2^21 · 2^-53 ≈ 2.3e-10). */
const SUMMATION = 1e-9;
const MAX_BOUNDED_VOCABULARY = 2 ** 21;

/** Scratch for the top-p filters, allocated once per workspace: exact bin masses, then approximate ones. */
export function createMassHistogram(): Float64Array {
  return new Float64Array(2 * BINS);
}

/**
 * Nucleus filter over weighed candidates. No sort of the candidates: one pass bins their mass by distance below
 * the best one, which locates the boundary bin; tokens in nearer bins are kept, farther ones dropped, and only the
 * boundary bin (plus one bin of slack for rounding in the bin sums) is sorted to place the edge exactly.
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
  histogram.fill(0, 0, BINS);
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
 * weighVocabulary then truncateTopP, bit for bit, without an exact weight for most tokens (boundedVocabularyTopP);
 * where that cannot decide, in two exact passes that write nothing per token (exactVocabularyTopP).
 */
export function truncateVocabularyTopP(
  values: Float32Array,
  candidates: Candidates,
  inverseTemperature: number,
  topP: number,
  histogram: Float64Array,
): void {
  if (boundedVocabularyTopP(values, candidates, inverseTemperature, topP, histogram)) return;
  exactVocabularyTopP(values, candidates, inverseTemperature, topP, histogram);
}

/**
 * weighVocabulary then truncateTopP in two passes: every sum adds the same terms in the same order. Nothing is
 * written per token: the first pass sums each token's weight into the total and its bin, the second re-weighs only
 * the kept tokens.
 */
export function exactVocabularyTopP(
  values: Float32Array,
  candidates: Candidates,
  inverseTemperature: number,
  topP: number,
  histogram: Float64Array,
): void {
  const best = maxOf(values);
  candidates.best = best;
  const binScale = inverseTemperature * BINS_PER_NAT;
  histogram.fill(0, 0, BINS);
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
  candidates.size = values.length; // every token, in id order (ids are not read below)
  const { kept, keptMass, boundarySize } = splitAtEdge(values, candidates, inverseTemperature, edgeBin, false);
  keepBoundary(values, candidates, inverseTemperature, kept, keptMass, boundarySize, target);
}

/**
 * exactVocabularyTopP's result, weighing exactly only the tokens near the nucleus. The exact total is a sum over the
 * whole vocabulary, but the result depends on it only through comparisons with topP·total: a first pass bounds it
 * (every token's weight approximated from its place in its bin, within APPROXIMATION), a second weighs exactly the
 * tokens of the bins up to just past the approximate edge, in id order, as the exact passes do. When the edge bin and
 * the walk through the boundary come out the same at both ends of the bounds they are the exact ones (both only grow
 * with the target): the result is set and true returned. Else false (rare: the target within ~1e-7 of a decision),
 * and the candidates are left to exactVocabularyTopP.
 */
export function boundedVocabularyTopP(
  values: Float32Array,
  candidates: Candidates,
  inverseTemperature: number,
  topP: number,
  histogram: Float64Array,
): boolean {
  const best = maxOf(values);
  if (!Number.isFinite(best) || values.length > MAX_BOUNDED_VOCABULARY || histogram.length < 2 * BINS) return false;
  const binScale = inverseTemperature * BINS_PER_NAT;
  // Pass 1: approximate masses per bin. scaled = −128·(the exponent expNonPositive gets) exactly (a power of two
  // apart), so a token's weight is e^(−bin/128)·e^(−g) with g its exact place in the bin; the last bin counts tokens.
  // Both passes take four tokens an iteration: a one-token iteration's own overhead costs as much as its work.
  const approximate = histogram.subarray(BINS, 2 * BINS);
  approximate.fill(0);
  const whole = values.length - (values.length % 4);
  for (let i = 0; i < whole; i += 4) {
    addApproximate(approximate, (best - values[i]) * binScale);
    addApproximate(approximate, (best - values[i + 1]) * binScale);
    addApproximate(approximate, (best - values[i + 2]) * binScale);
    addApproximate(approximate, (best - values[i + 3]) * binScale);
  }
  for (let i = whole; i < values.length; i++) addApproximate(approximate, (best - values[i]) * binScale);
  let approximateTotal = 0;
  for (let bin = 0; bin < BINS; bin++) {
    approximate[bin] *= BIN_TOP[bin];
    approximateTotal += approximate[bin];
  }
  // Bins below `near` are weighed exactly: the approximate edge, one past it, and one to spare.
  const near = edgeBinOf(approximate, topP * approximateTotal) + 3;
  if (near >= LAST_BIN) return false;

  // Pass 2: the near tokens' exact weights, into their bins and the near total, in id order; their ids listed.
  const { ids } = candidates;
  histogram.fill(0, 0, BINS);
  let nearTotal = 0;
  let count = 0;
  for (let start = 0; start < values.length; start += 4) {
    if (
      start < whole &&
      !((best - values[start]) * binScale < near) &&
      !((best - values[start + 1]) * binScale < near) &&
      !((best - values[start + 2]) * binScale < near) &&
      !((best - values[start + 3]) * binScale < near)
    ) {
      continue; // four far tokens: the common case
    }
    for (let i = start; i < start + 4 && i < values.length; i++) {
      const value = values[i];
      const scaled = (best - value) * binScale;
      if (scaled < near) {
        const weight = expNonPositive((value - best) * inverseTemperature);
        histogram[scaled | 0] += weight;
        nearTotal += weight;
        ids[count++] = i;
      }
    }
  }
  let farMass = 0;
  for (let bin = near; bin < LAST_BIN; bin++) farMass += approximate[bin];
  const lowTotal = (nearTotal * (1 - SUMMATION) + farMass * (1 - APPROXIMATION)) * (1 - SUMMATION);
  const highTotal =
    (nearTotal * (1 + SUMMATION) + (farMass + approximate[LAST_BIN]) * (1 + APPROXIMATION)) * (1 + SUMMATION);
  const lowTarget = topP * lowTotal;
  const highTarget = topP * highTotal;
  const edgeBin = edgeBinOf(histogram, highTarget);
  if (edgeBin + 1 >= near || edgeBinOf(histogram, lowTarget) !== edgeBin) return false;

  candidates.best = best;
  candidates.size = count;
  const { kept, keptMass, boundarySize } = splitAtEdge(values, candidates, inverseTemperature, edgeBin, true);
  const massBeforeLastGroup = keepBoundary(
    values,
    candidates,
    inverseTemperature,
    kept,
    keptMass,
    boundarySize,
    highTarget,
  );
  return massBeforeLastGroup < lowTarget;
}

/** Adds a token's approximate weight to its bin: e^(−g) ≈ 1 − g + g²/2, g its place in the bin (0 in the last). */
function addApproximate(approximate: Float64Array, scaled: number): void {
  // biome-ignore lint/complexity/useMathMinMax: Math.min would keep a NaN (a NaN logit's); it goes to the last bin
  const clamped = scaled < LAST_BIN ? scaled : LAST_BIN;
  const bin = clamped | 0;
  const g = (clamped - bin) * BIN_WIDTH;
  approximate[bin] += 1 - g + g * g * 0.5;
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
 * Over the first `candidates.size` tokens, in order (their ids when `listed`, else ids 0, 1, …): keeps those of the
 * bins before `edgeBin` at the front of the candidates, weighed, and sets those of the edge bin and the next aside
 * in `candidates.boundary`.
 */
function splitAtEdge(
  values: Float32Array,
  candidates: Candidates,
  inverseTemperature: number,
  edgeBin: number,
  listed: boolean,
): { kept: number; keptMass: number; boundarySize: number } {
  const { ids, weights, boundary, best, size } = candidates;
  const binScale = inverseTemperature * BINS_PER_NAT;
  let kept = 0;
  let boundarySize = 0;
  let keptMass = 0;
  for (let i = 0; i < size; i++) {
    const id = listed ? ids[i] : i;
    const value = values[id];
    const bin = binOf((best - value) * binScale);
    if (bin < edgeBin) {
      const weight = expNonPositive((value - best) * inverseTemperature);
      ids[kept] = id; // kept <= i: a listed id is read before it is overwritten
      weights[kept] = weight;
      keptMass += weight;
      kept++;
    } else if (bin <= edgeBin + 1) {
      boundary[boundarySize++] = id;
    }
  }
  return { kept, keptMass, boundarySize };
}

/**
 * After the `kept` candidates of nearer bins, walks the first `boundarySize` ids of `candidates.boundary` best
 * first, a group of equal logits at a time, until the mass kept reaches `target`; sets the candidates' size.
 * Returns the mass kept before the last group added (-Infinity when none was): a lower target keeps the same
 * tokens iff it is above that.
 */
function keepBoundary(
  values: Float32Array,
  candidates: Candidates,
  inverseTemperature: number,
  keptBefore: number,
  keptMassBefore: number,
  boundarySize: number,
  target: number,
): number {
  const { ids, weights, best } = candidates;
  const edge = candidates.boundary.subarray(0, boundarySize);
  sortByValue(values, edge);
  let kept = keptBefore;
  let keptMass = keptMassBefore;
  let massBeforeLastGroup = Number.NEGATIVE_INFINITY;
  let i = 0;
  while (i < boundarySize && keptMass < target) {
    massBeforeLastGroup = keptMass;
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
  return massBeforeLastGroup;
}
