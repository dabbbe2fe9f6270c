import { isBatchFailure, Sampler, type SamplingParams } from "@llm/sampling";
import { describe, expect, it } from "vitest";
import { randomLogits } from "./helpers.js";

const VOCAB = 50257;

/** Float64 log-softmax by Math.exp, the reference. */
function logSoftmax(logits: Float32Array): number[] {
  const max = Math.max(...logits);
  const log = Math.log(logits.reduce((s, v) => s + Math.exp(v - max), 0));
  return Array.from(logits, (v) => v - max - log);
}

function sample(logits: Float32Array, params: SamplingParams) {
  const sampler = new Sampler({ vocabSize: logits.length });
  sampler.open(0, { params, seed: 3 });
  const [result] = sampler.sampleBatch([{ sequenceId: 0, logits }]);
  if (isBatchFailure(result)) throw result.error;
  return result;
}

describe("logprobs", () => {
  it("is the log-softmax of the raw logits, whatever the temperature and filters", () => {
    const logits = randomLogits(VOCAB, 4);
    const reference = logSoftmax(logits);
    for (const params of [{ temperature: 0.3 }, { temperature: 1.7, topK: 10 }, { strategy: "greedy" }]) {
      const result = sample(logits, { ...params, logprobs: true });
      expect(result.logprob).toBeCloseTo(reference[result.tokenId], 9);
    }
  });

  it("is left out unless asked for", () => {
    const result = sample(randomLogits(VOCAB, 4), {});
    expect(result.logprob).toBeUndefined();
    expect(result.topLogprobs).toBeUndefined();
  });

  it("reports the top alternatives best first, with the log-softmax values", () => {
    const logits = randomLogits(VOCAB, 5);
    const reference = logSoftmax(logits);
    const expectedIds = Array.from(logits.keys())
      .sort((a, b) => logits[b] - logits[a] || a - b)
      .slice(0, 20);
    const result = sample(logits, { topLogprobs: 20 });
    expect(result.logprob).toBeCloseTo(reference[result.tokenId], 9); // topLogprobs implies logprobs
    expect(result.topLogprobs?.map((t) => t.tokenId)).toEqual(expectedIds);
    result.topLogprobs?.forEach((t, i, all) => {
      expect(t.logprob).toBeCloseTo(reference[t.tokenId], 9);
      if (i > 0) expect(t.logprob).toBeLessThanOrEqual(all[i - 1].logprob);
    });
  });

  it("orders tied alternatives by id", () => {
    const logits = Float32Array.from([0, 1, 2, 2, 1, 2]);
    expect(sample(logits, { topLogprobs: 4 }).topLogprobs?.map((t) => t.tokenId)).toEqual([2, 3, 5, 1]);
  });
});
