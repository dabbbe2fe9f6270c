import {
  adjustLogits,
  createStrategyRegistry,
  isBatchFailure,
  raceCandidates,
  Sampler,
  type SamplingStrategy,
  selectLargest,
  weighCandidates,
} from "@llm/sampling";
import { describe, expect, it } from "vitest";
import { chiSquare, chiSquareCritical, softmax } from "./helpers.js";

/**
 * An operator's plugin built from the library's stages: the same bias/penalty stage as "standard", then a
 * fixed two-way choice between the two best tokens at the request's temperature.
 */
const bestOfTwo: SamplingStrategy = {
  description: "Penalties, then a draw between the two most likely tokens.",
  sample(ctx) {
    const logits = adjustLogits(ctx);
    const { candidates } = ctx.workspace;
    selectLargest(logits, 2, candidates, false);
    weighCandidates(logits, candidates, 1 / ctx.params.temperature);
    return raceCandidates(candidates, ctx.noise);
  },
};

describe("strategy registry", () => {
  it("lists the built-ins with descriptions", () => {
    const list = createStrategyRegistry().list();
    expect(list.map((s) => s.name)).toEqual(["greedy", "standard"]);
    for (const s of list) expect(s.description.length).toBeGreaterThan(20);
  });

  it("names the known strategies when asked for an unknown one", () => {
    expect(() => createStrategyRegistry().get("nope")).toThrow(
      'unknown sampling strategy "nope"; known: greedy, standard',
    );
  });

  it("refuses duplicate and malformed names", () => {
    const registry = createStrategyRegistry();
    expect(() => registry.register("greedy", bestOfTwo)).toThrow('strategy "greedy" is already registered');
    expect(() => registry.register("Best Of Two", bestOfTwo)).toThrow(/is invalid/);
  });

  it("runs a custom strategy that reuses the stages, penalties included", () => {
    const registry = createStrategyRegistry().register("best-of-two", bestOfTwo);
    expect(registry.list().map((s) => s.name)).toEqual(["best-of-two", "greedy", "standard"]);
    const sampler = new Sampler({ vocabSize: 6, registry });
    const logits = Float32Array.from([0.5, 3, -1, 2.2, 2.9, 0]);

    // Without penalties: only tokens 1 and 4, in the softmax proportion of the pair.
    sampler.open("plain", { params: { strategy: "best-of-two", temperature: 0.7 }, seed: 11 });
    const counts = [0, 0, 0, 0, 0, 0];
    for (let i = 0; i < 20_000; i++) {
      const [r] = sampler.sampleBatch([{ sequenceId: "plain", logits }]);
      if (isBatchFailure(r)) throw r.error;
      counts[r.tokenId]++;
    }
    const pair = softmax([3, 2.9], 0.7);
    expect(chiSquare(counts, [0, pair[0], 0, 0, pair[1], 0])).toBeLessThan(chiSquareCritical(1));

    // The bias stage is the shared one: banning token 1 makes the pair {4, 3}.
    sampler.open("biased", { params: { strategy: "best-of-two", temperature: 0.7, logitBias: { 1: -100 } } });
    for (let i = 0; i < 200; i++) {
      const [r] = sampler.sampleBatch([{ sequenceId: "biased", logits }]);
      if (isBatchFailure(r)) throw r.error;
      expect([3, 4]).toContain(r.tokenId);
    }
  });

  it("reports a strategy that throws or returns a non-token as that sequence's failure only", () => {
    const registry = createStrategyRegistry()
      .register("broken", {
        description: "throws",
        sample: () => {
          throw new Error("plugin bug");
        },
      })
      .register("out-of-range", { description: "returns 99", sample: () => 99 });
    const sampler = new Sampler({ vocabSize: 4, registry });
    sampler.open(1, { params: { strategy: "broken" } });
    sampler.open(2, { params: { strategy: "greedy" } });
    sampler.open(3, { params: { strategy: "out-of-range" } });
    const logits = Float32Array.from([0, 1, 3, 2]);
    const [a, b, c] = sampler.sampleBatch([1, 2, 3].map((sequenceId) => ({ sequenceId, logits })));
    expect(isBatchFailure(a) && a.error.code).toBe("internal");
    expect(b).toEqual({ sequenceId: 2, tokenId: 2 });
    expect(isBatchFailure(c) && c.error.message).toBe('strategy "out-of-range" returned 99, not a token id in [0, 4)');
  });
});
