import { isBatchFailure, Sampler } from "@llm/sampling";
import { describe, expect, it } from "vitest";

describe("Sampler.sampleBatch", () => {
  const logits = Float32Array.from([0, 4, 1, 2]);

  it("samples views into one [batch, vocab] buffer, in input order", () => {
    const sampler = new Sampler({ vocabSize: 4 });
    sampler.open("a", { params: { strategy: "greedy" } });
    sampler.open("b", { params: { logitBias: { 1: -100 }, temperature: 0 } });
    const buffer = Float32Array.from([...logits, ...logits]);
    const results = sampler.sampleBatch([
      { sequenceId: "b", logits: buffer.subarray(4, 8) },
      { sequenceId: "a", logits: buffer.subarray(0, 4) },
    ]);
    expect(results).toEqual([
      { sequenceId: "b", tokenId: 3 },
      { sequenceId: "a", tokenId: 1 },
    ]);
    expect(buffer).toEqual(Float32Array.from([...logits, ...logits])); // never written
  });

  it("fails only the bad entries: unknown, repeated, wrong length", () => {
    const sampler = new Sampler({ vocabSize: 4 });
    sampler.open("a", { params: { strategy: "greedy" } });
    sampler.open("b", { params: { strategy: "greedy" } });
    const results = sampler.sampleBatch([
      { sequenceId: "ghost", logits },
      { sequenceId: "a", logits },
      { sequenceId: "a", logits },
      { sequenceId: "b", logits: new Float32Array(5) },
    ]);
    const failures = results.map((r) => (isBatchFailure(r) ? `${r.error.code}: ${r.error.message}` : r.tokenId));
    expect(failures).toEqual([
      "not_found: sequence ghost is not open",
      1,
      "invalid_argument: sequence a appears twice in one step",
      "invalid_argument: logits have 5 entries but the vocabulary has 4",
    ]);
  });

  it("records each sampled token for the sequence's penalties, and forgets a closed sequence", () => {
    const sampler = new Sampler({ vocabSize: 4 });
    const sequence = sampler.open(7, { params: { strategy: "greedy", frequencyPenalty: 2 }, promptTokenIds: [0] });
    const tokens = Array.from({ length: 4 }, () => {
      const [r] = sampler.sampleBatch([{ sequenceId: 7, logits }]);
      return isBatchFailure(r) ? -1 : r.tokenId;
    });
    // Token 1 (logit 4) loses 2 per use: 4 → 2 (ties token 3, lower id wins) → 0, then token 3 drops to 0
    // after its use and token 2 (logit 1) leads.
    expect(tokens).toEqual([1, 1, 3, 2]);
    expect(sequence.history.generatedCounts.get(1)).toBe(2);
    expect(sequence.history.seen.has(0)).toBe(true);
    expect(sampler.close(7)).toBe(true);
    expect(sampler.close(7)).toBe(false);
    expect(sampler.openSequences).toBe(0);
  });

  it("rejects a vocabulary size that is not a positive integer", () => {
    expect(() => new Sampler({ vocabSize: 0 })).toThrow("vocabSize must be a positive integer, got 0");
  });
});
