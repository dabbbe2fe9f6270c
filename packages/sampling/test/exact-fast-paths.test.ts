// Faster forms of the sampling kernels against the plain ones they replace. Seeded tokens and pruned rows depend on
// every bit of their results (which tokens survive, in which order, with which weights), so each is checked on many
// rows: truncateVocabularyTopP (and each of its two paths) against weighVocabulary + truncateTopP (both vocabulary sizes in use, ties at the
// nucleus edge, -Infinity entries (masked or padded tokens), top_p from 0.01 to 0.999, temperatures from 0.1 to 2),
// sortByValue's native sort against the comparator it replaced (ties, ±0, ±Infinity, NaN), maxOf's four running
// maxima against one.
import {
  Candidates,
  createMassHistogram,
  maxOf,
  sortByValue,
  truncateTopP,
  truncateVocabularyTopP,
  weighVocabulary,
} from "@llm/sampling";
import { describe, expect, it } from "vitest";
import { boundedVocabularyTopP, exactVocabularyTopP } from "../src/top-p.js";
import { randomLogits, testRandom } from "./helpers.js";

/** A row of (vocab, seed): a random scale, and by seed ties (rounded logits) and/or -Infinity entries. */
function rowOf(vocab: number, seed: number): Float32Array {
  const random = testRandom(seed);
  const logits = randomLogits(vocab, seed, 0.5 + 4 * random());
  const grid = [0, 0.25, 1, 4][seed % 4]; // 0: no rounding; else many logits tie, some right at the edge
  if (grid > 0) for (let i = 0; i < vocab; i++) logits[i] = Math.round(logits[i] / grid) * grid;
  if (seed % 3 === 1) for (let i = 0; i < vocab; i++) if (random() < 0.3) logits[i] = Number.NEGATIVE_INFINITY;
  if (seed % 17 === 5) logits.fill(Number.NEGATIVE_INFINITY, 1); // one finite token: the rest weigh 0
  return logits;
}

/** The first difference between the two candidate sets (count, ids in order, weights bit for bit), or "". */
function difference(a: Candidates, b: Candidates): string {
  if (a.size !== b.size) return `size ${a.size} vs ${b.size}`;
  if (!Object.is(a.best, b.best)) return `best ${a.best} vs ${b.best}`;
  for (let i = 0; i < a.size; i++) {
    if (a.ids[i] !== b.ids[i]) return `id #${i}: ${a.ids[i]} vs ${b.ids[i]}`;
    if (!Object.is(a.weights[i], b.weights[i])) return `weight #${i}: ${a.weights[i]} vs ${b.weights[i]}`;
  }
  return "";
}

describe("truncateVocabularyTopP", () => {
  it.each([
    [3000, 600],
    [50257, 60],
    [131072, 24],
  ])("equals weighVocabulary + truncateTopP bit for bit, by both of its paths (vocab %i, %i rows)", (vocab, rows) => {
    const candidates = new Candidates(vocab);
    const reference = new Candidates(vocab);
    const histogram = createMassHistogram();
    let sizes = 0;
    let bounded = 0;
    for (let seed = 1; seed <= rows; seed++) {
      const logits = rowOf(vocab, seed);
      const random = testRandom(seed * 7919);
      const topP = seed % 10 === 0 ? 0.999 : 0.01 + 0.989 * random();
      const inverseTemperature = 1 / (0.1 + 1.9 * random());
      weighVocabulary(logits, reference, inverseTemperature);
      truncateTopP(logits, reference, inverseTemperature, topP, histogram);
      const check = (path: string) => {
        const problem = difference(candidates, reference);
        if (problem) throw new Error(`${path}, row ${seed} (top_p ${topP}, 1/T ${inverseTemperature}): ${problem}`);
      };
      truncateVocabularyTopP(logits, candidates, inverseTemperature, topP, histogram);
      check("truncateVocabularyTopP");
      exactVocabularyTopP(logits, candidates, inverseTemperature, topP, histogram);
      check("exactVocabularyTopP");
      if (boundedVocabularyTopP(logits, candidates, inverseTemperature, topP, histogram)) {
        check("boundedVocabularyTopP");
        bounded++;
      }
      sizes += reference.size;
    }
    // The rows span tiny and large nuclei: the edge is exercised at many places; nearly all are decided bounded.
    expect(sizes / rows).toBeGreaterThan(5);
    expect(bounded).toBeGreaterThan(0.9 * rows);
  });

  it("leaves a target on a decision's edge to the exact passes", () => {
    const candidates = new Candidates(3000);
    const reference = new Candidates(3000);
    const histogram = createMassHistogram();
    /** Logits at `at`, the rest -Infinity; checks which path decides at `topP`, and the result. */
    const decide = (at: Record<number, number>, topP: number, bounded: boolean) => {
      const logits = new Float32Array(3000).fill(Number.NEGATIVE_INFINITY);
      for (const [id, logit] of Object.entries(at)) logits[Number(id)] = logit;
      expect(boundedVocabularyTopP(logits, candidates, 1, topP, histogram)).toBe(bounded);
      truncateVocabularyTopP(logits, candidates, 1, topP, histogram);
      weighVocabulary(logits, reference, 1);
      truncateTopP(logits, reference, 1, topP, histogram);
      expect(difference(candidates, reference)).toBe("");
    };
    // Weights 1 and 1/e: at top_p 1/(1 + 1/e) the target is the first bin's mass, up to rounding (the edge bin).
    decide({ 7: 0, 9: -1 }, 1 / (1 + Math.exp(-1)), false);
    decide({ 7: 0, 9: -1 }, 0.5, true);
    // Three tokens in one bin: the target is the mass of the first two, up to rounding (the walk through the edge).
    const [a, b] = [Math.exp(Math.fround(-0.001)), Math.exp(Math.fround(-0.002))];
    decide({ 7: 0, 9: -0.001, 11: -0.002 }, (1 + a) / (1 + a + b), false);
    decide({ 7: 0, 9: -0.001, 11: -0.002 }, 0.5, true);
  });
});

describe("sortByValue", () => {
  it("orders ids as the comparator (value descending, id ascending) does, ties, ±0, ±Infinity and NaN included", () => {
    for (let seed = 1; seed <= 400; seed++) {
      const random = testRandom(seed);
      const vocab = seed % 2 === 0 ? 50257 : 131072;
      const values = new Float32Array(vocab);
      const grid = [0, 0.25, 1][seed % 3];
      const specials = [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, -0, 0, Number.NaN];
      for (let i = 0; i < vocab; i++) {
        const value = (random() - 0.5) * 40;
        values[i] = grid > 0 ? Math.round(value / grid) * grid : value;
        if (random() < 0.05) values[i] = specials[Math.floor(random() * (seed % 5 === 0 ? 5 : 4))];
      }
      const ids = Int32Array.from({ length: 1 + Math.floor(random() * 1500) }, () => Math.floor(random() * vocab));
      const expected = ids.slice().sort((a, b) => values[b] - values[a] || a - b);
      sortByValue(values, ids);
      if (seed % 5 !== 0) expect(Array.from(ids)).toEqual(Array.from(expected));
      else expect(Array.from(ids).sort()).toEqual(Array.from(expected).sort()); // NaN: the comparator's own order
    }
  });
});

describe("maxOf", () => {
  it("is the one-pass maximum, the sign of a zero maximum included (NaN ignored, -Infinity when empty)", () => {
    const onePass = (values: Float32Array) => {
      let max = Number.NEGATIVE_INFINITY;
      for (const value of values) if (value > max) max = value;
      return max;
    };
    const specials = [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, -0, 0, Number.NaN];
    for (let seed = 1; seed <= 3000; seed++) {
      const random = testRandom(seed);
      const values = new Float32Array(seed % 100 === 0 ? 50257 : Math.floor(random() * 12));
      for (let i = 0; i < values.length; i++) {
        values[i] = seed % 3 === 0 ? -Math.floor(random() * 3) : (random() - 0.5) * 10; // ties at 0, -1, -2
        if (random() < 0.2) values[i] = specials[Math.floor(random() * specials.length)];
      }
      expect(Object.is(maxOf(values), onePass(values))).toBe(true);
    }
  });
});
