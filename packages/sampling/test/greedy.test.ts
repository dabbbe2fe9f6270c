import { Sampler, type SamplingParams } from "@llm/sampling";
import { describe, expect, it } from "vitest";
import { randomLogits } from "./helpers.js";

const VOCAB = 50257;

function sampleOnce(logits: Float32Array, params: SamplingParams, prompt: number[] = []): number {
  const sampler = new Sampler({ vocabSize: logits.length });
  sampler.open(1, { params, seed: 5, promptTokenIds: prompt });
  const [result] = sampler.sampleBatch([{ sequenceId: 1, logits }]);
  if ("error" in result) throw result.error;
  return result.tokenId;
}

/** Argmax by a different route than the library's scan: Math.max, then the first index holding it. */
function referenceArgmax(values: Float32Array): number {
  return values.indexOf(Math.max(...values));
}

describe("greedy", () => {
  it("picks the argmax", () => {
    for (let seed = 1; seed <= 10; seed++) {
      const logits = randomLogits(VOCAB, seed);
      expect(sampleOnce(logits, { strategy: "greedy" })).toBe(referenceArgmax(logits));
    }
  });

  it("breaks ties towards the lowest id", () => {
    const logits = new Float32Array(100).fill(-1);
    logits[70] = 5;
    logits[30] = 5;
    logits[90] = 5;
    expect(sampleOnce(logits, { strategy: "greedy" })).toBe(30);
  });

  it("is what temperature 0 gives, with and without penalties", () => {
    for (let seed = 1; seed <= 10; seed++) {
      const logits = randomLogits(VOCAB, seed);
      const top = referenceArgmax(logits);
      const penalties: SamplingParams = { repetitionPenalty: 3, logitBias: { [top]: -100, 17: 4 } };
      expect(sampleOnce(logits, { temperature: 0, topP: 0.5, topK: 3 })).toBe(
        sampleOnce(logits, { strategy: "greedy" }),
      );
      const penalised = sampleOnce(logits, { ...penalties, temperature: 0 }, [top, 5]);
      expect(penalised).toBe(sampleOnce(logits, { ...penalties, strategy: "greedy" }, [top, 5]));
      expect(penalised).not.toBe(top);
    }
  });
});
