import { Sampler, type SamplingParams, type Seed } from "@llm/sampling";

/** Independent of the library's PRNG: mulberry32, only to make test logits. */
export function testRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Logits shaped like a language model's: a normal body with a heavy upper tail. */
export function randomLogits(vocabSize: number, seed: number, scale = 3): Float32Array {
  const random = testRandom(seed);
  const logits = new Float32Array(vocabSize);
  for (let i = 0; i < vocabSize; i++) {
    const normal = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    logits[i] = normal * scale;
  }
  return logits;
}

/** softmax(values / temperature) in float64 with Math.exp: the reference the library is checked against. */
export function softmax(values: ArrayLike<number>, temperature = 1): number[] {
  const max = Math.max(...Array.from(values));
  const weights = Array.from(values, (v) => Math.exp((v - max) / temperature));
  const total = weights.reduce((a, b) => a + b, 0);
  return weights.map((w) => w / total);
}

/** Chi-square statistic of observed counts against expected probabilities (cells with p = 0 must be empty). */
export function chiSquare(counts: number[], probabilities: number[]): number {
  const n = counts.reduce((a, b) => a + b, 0);
  let statistic = 0;
  counts.forEach((count, i) => {
    const expected = n * probabilities[i];
    if (expected === 0) {
      if (count > 0) statistic = Number.POSITIVE_INFINITY;
      return;
    }
    statistic += (count - expected) ** 2 / expected;
  });
  return statistic;
}

/** Chi-square critical value at p = 1e-4 (Wilson–Hilferty): a correct sampler fails 1 run in 10,000. */
export function chiSquareCritical(degreesOfFreedom: number): number {
  const z = 3.719;
  const k = degreesOfFreedom;
  return k * (1 - 2 / (9 * k) + z * Math.sqrt(2 / (9 * k))) ** 3;
}

/** Token counts over `draws` steps of one sequence on the same logits. */
export function drawCounts(logits: Float32Array, params: SamplingParams, draws: number, seed: Seed = 7): number[] {
  const sampler = new Sampler({ vocabSize: logits.length });
  sampler.open("s", { params, seed });
  const counts = new Array<number>(logits.length).fill(0);
  for (let i = 0; i < draws; i++) {
    const [result] = sampler.sampleBatch([{ sequenceId: "s", logits }]);
    if ("error" in result) throw result.error;
    counts[result.tokenId]++;
  }
  return counts;
}

/** Logits whose softmax is exactly proportional to `weights` (up to float32 rounding). */
export function logitsFor(weights: number[]): Float32Array {
  return Float32Array.from(weights, (w) => (w > 0 ? Math.log(w) : Number.NEGATIVE_INFINITY));
}
