import { toSeed64, Xoshiro128StarStar } from "@llm/sampling";
import { describe, expect, it } from "vitest";
import { chiSquareCritical } from "./helpers.js";

describe("Xoshiro128StarStar", () => {
  // First outputs of the reference C xoshiro128** 1.1, its state filled by the reference splitmix64 (two
  // outputs, low word first), compiled with gcc on this machine.
  it.each([
    [0n, [3737715805, 2584255861, 2876756834, 3286328325, 1553311962]],
    [42n, [1776835114, 4165204688, 17111135, 2317295270, 2792088233]],
    [(1n << 64n) - 1n, [477689756, 2493998634, 555695776, 607808419, 61340979]],
  ])("matches the reference implementation for seed %s", (seed, expected) => {
    const rng = new Xoshiro128StarStar(seed);
    expect(Array.from({ length: 5 }, () => rng.nextUint32())).toEqual(expected);
  });

  it("reads numbers and negative int64 seeds as the same unsigned 64-bit value", () => {
    expect(toSeed64(-1)).toBe((1n << 64n) - 1n);
    expect(new Xoshiro128StarStar(-1).nextUint32()).toBe(new Xoshiro128StarStar((1n << 64n) - 1n).nextUint32());
    expect(new Xoshiro128StarStar(42).nextUint32()).toBe(new Xoshiro128StarStar(42n).nextUint32());
  });

  it("draws uniform doubles in [0, 1)", () => {
    const rng = new Xoshiro128StarStar(123);
    const buckets = new Array<number>(50).fill(0);
    const draws = 200_000;
    let outside = 0;
    for (let i = 0; i < draws; i++) {
      const u = rng.nextDouble();
      if (u < 0 || u >= 1) outside++;
      else buckets[Math.floor(u * 50)]++;
    }
    expect(outside).toBe(0);
    const expected = draws / 50;
    const statistic = buckets.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
    expect(statistic).toBeLessThan(chiSquareCritical(49));
  });

  it("gives unrelated streams for neighbouring seeds", () => {
    const a = new Xoshiro128StarStar(1000);
    const b = new Xoshiro128StarStar(1001);
    const same = Array.from({ length: 100 }, () => a.nextUint32() === b.nextUint32()).filter(Boolean).length;
    expect(same).toBe(0);
  });
});
