import {
  allCandidates,
  Candidates,
  createMassHistogram,
  selectLargest,
  truncateTopP,
  weighCandidates,
} from "@llm/sampling";
import { describe, expect, it } from "vitest";
import { chiSquare, chiSquareCritical, drawCounts, logitsFor, randomLogits, softmax } from "./helpers.js";

const DRAWS = 40_000;

/** Expected probabilities: softmax(logits/T) restricted to `kept`, renormalised. */
function restricted(logits: Float32Array, temperature: number, kept: (id: number) => boolean): number[] {
  const p = softmax(logits, temperature).map((q, id) => (kept(id) ? q : 0));
  const total = p.reduce((a, b) => a + b, 0);
  return p.map((q) => q / total);
}

function expectMatches(counts: number[], expected: number[]): void {
  const cells = expected.filter((p) => p > 0).length;
  expect(chiSquare(counts, expected)).toBeLessThan(chiSquareCritical(cells - 1));
}

describe("draw frequencies", () => {
  const logits = Float32Array.from([2.0, 1.5, 1.4, 0.3, 0, -0.7, -1.2, -3]);

  it.each([0.5, 1, 1.7])("match softmax(logits / %s)", (temperature) => {
    expectMatches(drawCounts(logits, { temperature }, DRAWS), softmax(logits, temperature));
  });

  it("detect a wrong distribution (the test can fail)", () => {
    const counts = drawCounts(logits, { temperature: 1 }, DRAWS);
    expect(chiSquare(counts, softmax(logits, 1.1))).toBeGreaterThan(chiSquareCritical(7));
  });

  it("match the renormalised top-k set and never leave it", () => {
    const wide = randomLogits(500, 11, 1);
    const order = Array.from(wide.keys()).sort((a, b) => wide[b] - wide[a]);
    const topFive = new Set(order.slice(0, 5));
    const counts = drawCounts(wide, { temperature: 0.9, topK: 5 }, DRAWS);
    counts.forEach((c, id) => {
      if (!topFive.has(id)) expect(c).toBe(0);
    });
    expectMatches(
      counts,
      restricted(wide, 0.9, (id) => topFive.has(id)),
    );
  });

  it("match the min-p set: p >= minP · p_max", () => {
    const weights = [0.3, 0.2, 0.15, 0.089, 0.0905, 0.05, 0.0305, 0.08, 0.01];
    const logits = logitsFor(weights);
    // minP 0.3 → threshold 0.09: 0.0905 stays, 0.089 goes.
    const kept = (id: number) => weights[id] >= 0.3 * 0.3;
    const counts = drawCounts(logits, { minP: 0.3 }, DRAWS);
    expect(counts[3]).toBe(0);
    expect(counts[4]).toBeGreaterThan(0);
    expectMatches(counts, restricted(logits, 1, kept));
  });
});

describe("top-p nucleus boundary", () => {
  it("keeps the smallest prefix that reaches top_p", () => {
    const logits = logitsFor([0.4, 0.3, 0.2, 0.1]);
    const below = drawCounts(logits, { topP: 0.69 }, 4000);
    expect(below.map((c) => c > 0)).toEqual([true, true, false, false]);
    const above = drawCounts(logits, { topP: 0.71 }, 4000);
    expect(above.map((c) => c > 0)).toEqual([true, true, true, false]);
    expectMatches(
      above,
      restricted(logits, 1, (id) => id < 3),
    );
  });

  it("keeps every token tied with the last one it needs", () => {
    const logits = logitsFor([0.18, 0.4, 0.18, 0.06, 0.18]);
    // The smallest prefix reaching 0.5 is {1, 0}, but tokens 2 and 4 tie with 0: each has 0.4 < 0.5 above it.
    const counts = drawCounts(logits, { topP: 0.5 }, 6000);
    expect(counts.map((c) => c > 0)).toEqual([true, true, true, false, true]);
    expect(drawCounts(logits, { topP: 0.39 }, 2000).map((c) => c > 0)).toEqual([false, true, false, false, false]);
  });

  // The fast path (bin the mass, sort only the boundary bins) against a full sort of the vocabulary.
  it.each([
    [0.9, 0.8, 1],
    [0.5, 1.3, 2],
    [0.99, 1, 3],
    [0.3, 2, 4],
  ])("selects exactly the brute-force nucleus on a 50257 vocabulary (top_p %s, T %s)", (topP, temperature, seed) => {
    const logits = randomLogits(50257, seed);
    const candidates = new Candidates(logits.length);
    allCandidates(logits.length, candidates);
    weighCandidates(logits, candidates, 1 / temperature);
    truncateTopP(logits, candidates, 1 / temperature, topP, createMassHistogram());

    const p = softmax(logits, temperature);
    const order = Array.from(logits.keys()).sort((a, b) => p[b] - p[a] || a - b);
    const reference: number[] = [];
    let mass = 0;
    for (const id of order) {
      if (mass >= topP) break;
      reference.push(id);
      mass += p[id];
    }
    expect(candidates.toArray().sort((a, b) => a - b)).toEqual(reference.sort((a, b) => a - b));
    expect(reference.length).toBeGreaterThan(1);
  });

  it("never draws outside the nucleus through the full pipeline on a 50257 vocabulary", () => {
    const logits = randomLogits(50257, 8, 2);
    const p = softmax(logits, 0.8);
    const order = Array.from(logits.keys()).sort((a, b) => p[b] - p[a] || a - b);
    const nucleus = new Set<number>();
    let mass = 0;
    for (const id of order) {
      if (mass >= 0.9) break;
      nucleus.add(id);
      mass += p[id];
    }
    const counts = drawCounts(logits, { temperature: 0.8, topP: 0.9 }, 600);
    counts.forEach((c, id) => {
      if (c > 0) expect(nucleus.has(id)).toBe(true);
    });
    expect(counts.filter((c) => c > 0).length).toBeGreaterThan(20);
  });
});

describe("top-k selection", () => {
  const selected = (logits: Float32Array, k: number, includeTies: boolean) => {
    const c = new Candidates(logits.length);
    selectLargest(logits, k, c, includeTies);
    return c.toArray().sort((a, b) => a - b);
  };

  it("keeps ties with the k-th token, or gives them to the lowest ids when asked to", () => {
    const logits = Float32Array.from([1, 3, 2, 2, 0, 2, 5]);
    expect(selected(logits, 3, true)).toEqual([1, 2, 3, 5, 6]);
    expect(selected(logits, 3, false)).toEqual([1, 2, 6]);
    expect(selected(logits, 2, true)).toEqual([1, 6]);
    const flat = new Float32Array(10).fill(1);
    expect(selected(flat, 4, true)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(selected(flat, 4, false)).toEqual([0, 1, 2, 3]);
  });

  it("equals a full sort's first k on a large vocabulary", () => {
    const logits = randomLogits(50257, 21);
    const order = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a] || a - b);
    for (const k of [1, 7, 50, 300]) {
      expect(selected(logits, k, true)).toEqual(order.slice(0, k).sort((a, b) => a - b));
    }
  });

  it("applies top-p to the renormalised top-k set", () => {
    // Top-2 renormalised: 0.4/0.7 = 0.571 and 0.3/0.7 = 0.429; top_p 0.55 keeps only the first.
    const logits = logitsFor([0.4, 0.3, 0.2, 0.1]);
    expect(drawCounts(logits, { topK: 2, topP: 0.55 }, 2000).map((c) => c > 0)).toEqual([true, false, false, false]);
    expect(drawCounts(logits, { topK: 2, topP: 0.6 }, 2000).map((c) => c > 0)).toEqual([true, true, false, false]);
  });
});
