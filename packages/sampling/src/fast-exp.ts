// Math.exp costs ~10 ns in V8 and a vocab-wide softmax needs 50k of them per sequence per step, so the
// full-vocabulary passes use this table-driven exp instead: ~3x faster, relative error below 2e-13
// (far below the float32 precision of the logits themselves).

const STEPS_PER_OCTAVE = 64;
const K = STEPS_PER_OCTAVE / Math.LN2;
const STEP = Math.LN2 / STEPS_PER_OCTAVE;
/** exp underflows to 0 below this (smallest subnormal double is ~exp(-744.4)). */
const UNDERFLOW = -745;

/** 2^(j/64) for j in [0, 64). */
const FRACTION_POWERS = Float64Array.from({ length: STEPS_PER_OCTAVE }, (_, j) => 2 ** (j / STEPS_PER_OCTAVE));
/** 2^-e for every whole octave an argument >= UNDERFLOW can reach. */
const OCTAVE_POWERS = Float64Array.from({ length: 1100 }, (_, e) => 2 ** -e);

/** e^x for x <= 0 (also -Infinity → 0). Callers subtract the maximum first, so positive x never occurs. */
export function expNonPositive(x: number): number {
  if (!(x >= UNDERFLOW)) return 0;
  // x = k·ln2/64 + r with |r| <= ln2/128; e^x = 2^(k>>6) · 2^((k&63)/64) · e^r.
  const k = (x * K - 0.5) | 0;
  const r = x - k * STEP;
  const er = 1 + r * (1 + r * (0.5 + r * (1 / 6 + r * (1 / 24 + r / 120))));
  return OCTAVE_POWERS[-(k >> 6)] * FRACTION_POWERS[k & 63] * er;
}

/**
 * Largest value (NaN ignored); -Infinity for an empty array. Four running maxima: one would chain every compare to
 * the previous one (about 4x slower). Equal values are the same number, but for ±0: a maximum of zero is taken
 * again in order, so the first zero's sign wins, as in one pass.
 */
export function maxOf(values: Float32Array): number {
  let a = Number.NEGATIVE_INFINITY;
  let b = a;
  let c = a;
  let d = a;
  const whole = values.length - (values.length % 4);
  for (let i = 0; i < whole; i += 4) {
    const v0 = values[i];
    const v1 = values[i + 1];
    const v2 = values[i + 2];
    const v3 = values[i + 3];
    if (v0 > a) a = v0;
    if (v1 > b) b = v1;
    if (v2 > c) c = v2;
    if (v3 > d) d = v3;
  }
  for (let i = whole; i < values.length; i++) if (values[i] > a) a = values[i];
  if (b > a) a = b;
  if (c > a) a = c;
  if (d > a) a = d;
  return a === 0 ? firstMax(values) : a;
}

/** Largest value in one pass, the first of equal ones kept. */
function firstMax(values: Float32Array): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v > max) max = v;
  }
  return max;
}

/** Σ exp((v - max) · scale): the softmax normaliser relative to the maximum, one pass. */
export function sumExpBelow(values: Float32Array, max: number, scale: number): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += expNonPositive((values[i] - max) * scale);
  return sum;
}

/** log Σ exp(v): the log-softmax normaliser of raw logits. */
export function logSumExp(values: Float32Array): number {
  const max = maxOf(values);
  return max + Math.log(sumExpBelow(values, max, 1));
}
