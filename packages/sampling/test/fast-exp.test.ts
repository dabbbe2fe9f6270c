import { expNonPositive, logSumExp } from "@llm/sampling";
import { describe, expect, it } from "vitest";
import { randomLogits, testRandom } from "./helpers.js";

describe("expNonPositive", () => {
  it("agrees with Math.exp to 1e-12 relative over the whole non-positive range", () => {
    const random = testRandom(1);
    const points = [0, -1e-300, -1e-9, -0.5, -Math.LN2, -1, -10, -100, -700, -744];
    for (let i = 0; i < 100_000; i++) points.push(-random() * 745);
    const beyondTolerance = points.filter((x) => {
      const exact = Math.exp(x);
      return Math.abs(expNonPositive(x) - exact) > exact * 1e-12 + Number.MIN_VALUE;
    });
    expect(beyondTolerance).toEqual([]);
  });

  it("underflows to 0 and maps -Infinity to 0", () => {
    expect(expNonPositive(-746)).toBe(0);
    expect(expNonPositive(Number.NEGATIVE_INFINITY)).toBe(0);
  });
});

describe("logSumExp", () => {
  it("equals the float64 Math.exp reference", () => {
    const logits = randomLogits(50257, 3);
    const max = Math.max(...logits);
    const reference = max + Math.log(logits.reduce((s, v) => s + Math.exp(v - max), 0));
    expect(logSumExp(logits)).toBeCloseTo(reference, 10);
  });
});
