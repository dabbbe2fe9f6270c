import { CounterRng, toSeed64 } from "@llm/sampling";
import { describe, expect, it } from "vitest";
import { chiSquareCritical } from "./helpers.js";

/** 50-bucket chi-square statistic of uniforms in [0, 1). */
function uniformity(values: number[]): number {
  const buckets = new Array<number>(50).fill(0);
  for (const u of values) buckets[Math.floor(u * 50)]++;
  const expected = values.length / 50;
  return buckets.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
}

describe("CounterRng", () => {
  it("gives each (seed, token index, lane) one number, whatever was asked before or in which order", () => {
    const a = new CounterRng(42);
    const forward = Array.from({ length: 20 }, (_, step) => a.tokenNoise(step).uniform(step * 31));
    const b = new CounterRng(42n);
    const backward = Array.from({ length: 20 }, (_, i) => 19 - i).map((step) => b.tokenNoise(step).uniform(step * 31));
    expect(backward.reverse()).toEqual(forward);
    expect(new CounterRng(42).drawNoise(7).double(3)).toBe(new CounterRng(42).drawNoise(7).double(3));
  });

  it("reads numbers and negative int64 seeds as the same unsigned 64-bit value", () => {
    expect(toSeed64(-1)).toBe((1n << 64n) - 1n);
    expect(new CounterRng(-1).tokenNoise(3).bits(5)).toBe(new CounterRng((1n << 64n) - 1n).tokenNoise(3).bits(5));
  });

  it("draws uniforms in (0, 1) over lanes, over token indices and over seeds", () => {
    const rng = new CounterRng(123);
    const lanes = Array.from({ length: 100_000 }, (_, id) => rng.tokenNoise(5).uniform(id));
    const steps = Array.from({ length: 100_000 }, (_, step) => rng.tokenNoise(step).uniform(17));
    const seeds = Array.from({ length: 20_000 }, (_, seed) => new CounterRng(seed).tokenNoise(0).uniform(0));
    const doubles = Array.from({ length: 100_000 }, (_, draw) => rng.drawNoise(9).double(draw));
    for (const values of [lanes, steps, seeds]) expect(values.every((u) => u > 0 && u < 1)).toBe(true);
    expect(doubles.every((u) => u >= 0 && u < 1)).toBe(true);
    for (const values of [lanes, steps, seeds, doubles]) {
      expect(uniformity(values)).toBeLessThan(chiSquareCritical(49));
    }
  });

  it("gives no two tokens of one step the same bits, and unrelated numbers to neighbouring seeds and steps", () => {
    const noise = new CounterRng(7).tokenNoise(0);
    expect(new Set(Array.from({ length: 50_257 }, (_, id) => noise.bits(id))).size).toBe(50_257);
    const lane = (seed: number, step: number) => new CounterRng(seed).tokenNoise(step).bits(1);
    const same = (pairs: [number, number][]) => pairs.filter(([x, y]) => x === y).length;
    const seeds = Array.from({ length: 1000 }, (_, i): [number, number] => [lane(i, 0), lane(i + 1, 0)]);
    const steps = Array.from({ length: 1000 }, (_, i): [number, number] => [lane(5, i), lane(5, i + 1)]);
    expect(same(seeds) + same(steps)).toBe(0);
    // Pearson correlation of consecutive lanes' uniforms: independent streams give |r| ≈ 1/sqrt(n).
    const u = Array.from({ length: 20_001 }, (_, id) => noise.uniform(id));
    const mean = u.reduce((a, b) => a + b, 0) / u.length;
    let cov = 0;
    let variance = 0;
    for (let i = 0; i + 1 < u.length; i++) {
      cov += (u[i] - mean) * (u[i + 1] - mean);
      variance += (u[i] - mean) ** 2;
    }
    expect(Math.abs(cov / variance)).toBeLessThan(0.03);
  });
});
