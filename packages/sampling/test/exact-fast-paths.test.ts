// Faster forms of the sampling kernels against the plain ones they replace. Seeded tokens and pruned rows depend on
// every bit of their results (which tokens survive, in which order, with which weights), so each is checked on many
// rows: truncateVocabularyTopP against weighVocabulary + truncateTopP (both vocabulary sizes in use, ties at the
// nucleus edge, -Infinity entries (masked or padded tokens), top_p from 0.01 to 0.999, temperatures from 0.1 to 2),
// sortByValue's native sort against the comparator it replaced (ties, ±0, ±Infinity, NaN).
import {
  Candidates,
  createMassHistogram,
  sortByValue,
  truncateTopP,
  truncateVocabularyTopP,
  weighVocabulary,
} from "@llm/sampling";
import { describe, expect, it } from "vitest";
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
  ])("equals weighVocabulary + truncateTopP bit for bit (vocab %i, %i rows)", (vocab, rows) => {
    const fused = new Candidates(vocab);
    const reference = new Candidates(vocab);
    const histogram = createMassHistogram();
    let sizes = 0;
    for (let seed = 1; seed <= rows; seed++) {
      const logits = rowOf(vocab, seed);
      const random = testRandom(seed * 7919);
      const topP = seed % 10 === 0 ? 0.999 : 0.01 + 0.989 * random();
      const inverseTemperature = 1 / (0.1 + 1.9 * random());
      weighVocabulary(logits, reference, inverseTemperature);
      truncateTopP(logits, reference, inverseTemperature, topP, histogram);
      truncateVocabularyTopP(logits, fused, inverseTemperature, topP, histogram);
      const problem = difference(fused, reference);
      if (problem) throw new Error(`row ${seed} (top_p ${topP}, 1/T ${inverseTemperature}): ${problem}`);
      sizes += reference.size;
    }
    // The rows span tiny and large nuclei: the edge is exercised at many places.
    expect(sizes / rows).toBeGreaterThan(5);
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
