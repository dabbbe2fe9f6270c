import { LlmError } from "@llm/errors";
import {
  createStrategyRegistry,
  Sampler,
  type SamplingParams,
  samplingParamProblems,
  validateSamplingParams,
} from "@llm/sampling";
import { describe, expect, it } from "vitest";

const VOCAB = 50257;

function problemsOf(params: unknown): string[] {
  return samplingParamProblems(params as SamplingParams, VOCAB).map((p) => p.message);
}

describe("validateSamplingParams", () => {
  it("accepts the boundaries of every range and fills in defaults", () => {
    const edges: SamplingParams[] = [
      { temperature: 0, topP: 1, topK: 0, minP: 0, presencePenalty: -2, frequencyPenalty: 2 },
      { temperature: 2, topP: 1e-9, topK: 1, minP: 1, repetitionPenalty: 10, topLogprobs: 20 },
      { logitBias: { 0: -100, 50256: 100 }, seed: -1n, strategy: "" },
    ];
    for (const params of edges) expect(problemsOf(params)).toEqual([]);
    expect(validateSamplingParams(undefined, VOCAB)).toMatchObject({
      strategy: "standard",
      temperature: 1,
      topP: 1,
      topK: 0,
      minP: 0,
      repetitionPenalty: 1,
      logprobs: false,
      topLogprobs: 0,
    });
  });

  it.each([
    [{ temperature: 2.01 }, "temperature must be a number in [0, 2], got 2.01"],
    [{ temperature: -0.1 }, "temperature must be a number in [0, 2], got -0.1"],
    [{ temperature: Number.NaN }, "temperature must be a number in [0, 2], got NaN"],
    [{ topP: 0 }, "topP must be a number in (0, 1], got 0"],
    [{ topP: 1.5 }, "topP must be a number in (0, 1], got 1.5"],
    [{ topK: -1 }, "topK must be an integer >= 0, got -1"],
    [{ topK: 2.5 }, "topK must be an integer >= 0, got 2.5"],
    [{ minP: 1.1 }, "minP must be a number in [0, 1], got 1.1"],
    [{ repetitionPenalty: 0 }, "repetitionPenalty must be a number in (0, 10], got 0"],
    [{ presencePenalty: Number.POSITIVE_INFINITY }, "presencePenalty must be a number in [-2, 2], got Infinity"],
    [{ frequencyPenalty: -2.5 }, "frequencyPenalty must be a number in [-2, 2], got -2.5"],
    [{ topLogprobs: 21 }, "topLogprobs must be an integer in [0, 20], got 21"],
    [{ logitBias: { 50257: 1 } }, "logitBias[50257] names no token: ids are integers in [0, 50256]"],
    [{ logitBias: { 5: 101 } }, "logitBias[5] must be a number in [-100, 100], got 101"],
    [{ logitBias: new Map([[-1, 1]]) }, "logitBias[-1] names no token: ids are integers in [0, 50256]"],
    [{ temperature: "0.5" }, 'temperature must be a number in [0, 2], got "0.5"'],
    [{ seed: 1.5 }, "seed must be a safe integer or a bigint, got 1.5"],
    [{ strategy: "beam" }, 'strategy "beam" is unknown; known strategies: greedy, standard'],
  ])("rejects %o: %s", (params, message) => {
    expect(problemsOf(params)).toEqual([message]);
  });

  it("throws one invalid_argument LlmError that lists every problem", () => {
    let error: unknown;
    try {
      validateSamplingParams({ temperature: 3, topP: 0, topK: -2 }, VOCAB);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(LlmError);
    const llm = error as LlmError;
    expect(llm.code).toBe("invalid_argument");
    expect(llm.message).toBe(
      "invalid sampling params: temperature must be a number in [0, 2], got 3; " +
        "topP must be a number in (0, 1], got 0; topK must be an integer >= 0, got -2",
    );
    expect(llm.details?.problems).toEqual([
      { field: "temperature", message: expect.any(String) },
      { field: "topP", message: expect.any(String) },
      { field: "topK", message: expect.any(String) },
    ]);
  });

  it("knows strategies of a custom registry", () => {
    const registry = createStrategyRegistry().register("mine", { description: "x", sample: () => 0 });
    expect(() => validateSamplingParams({ strategy: "mine" }, VOCAB, registry)).not.toThrow();
    expect(() => validateSamplingParams({ strategy: "mine" }, VOCAB)).toThrow(/known strategies: greedy, standard/);
  });
});

describe("opening a sequence", () => {
  const sampler = new Sampler({ vocabSize: 100 });

  it("rejects bad params, seeds and prompt ids with invalid_argument", () => {
    expect(() => sampler.open("a", { params: { topP: 2 } })).toThrow(
      expect.objectContaining({ code: "invalid_argument" }),
    );
    expect(() => sampler.open("b", { seed: 2n ** 64n })).toThrow("seed must fit in 64 bits");
    expect(() => sampler.open("c", { promptTokenIds: [1, 100] })).toThrow(
      "prompt token id 100 is outside the vocabulary [0, 100)",
    );
    expect(sampler.openSequences).toBe(0);
  });

  it("rejects a sequence id that is already open", () => {
    sampler.open("d");
    expect(() => sampler.open("d")).toThrow(expect.objectContaining({ code: "failed_precondition" }));
  });
});
