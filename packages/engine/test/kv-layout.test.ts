// The engine's two KV paths: the graph picks one, and the append path (tiny-append: the same weights as tiny,
// a fixed-capacity cache the engine owns) gives the standard path's tokens, token for token.
import { join } from "node:path";
import type { Log } from "@llm/log";
import type { SamplingParams } from "@llm/sampling";
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { kvLayoutOf } from "../src/kv-layout.js";
import { collect, promptOf, request, type TinyPreset, tinyEngine, tinyModelDir } from "./helpers.js";

describe("kvLayoutOf", () => {
  it("picks append for a graph with new_key_values outputs, standard for any other", async () => {
    const outputsOf = async (preset: TinyPreset) => {
      const session = await ort.InferenceSession.create(join(await tinyModelDir(preset), "onnx", "model.onnx"));
      const names = session.outputNames;
      await session.release();
      return names;
    };
    expect(kvLayoutOf(await outputsOf("tiny"))).toBe("standard");
    expect(kvLayoutOf(await outputsOf("tiny-append"))).toBe("append");
  });
});

describe("append KV path (tiny-append) vs standard (tiny)", () => {
  /** Prompts whose generations cross the cache's 64-position capacity steps while batched together. */
  const specs = [
    { prompt: promptOf(60, 11), max: 30 },
    { prompt: promptOf(3, 12), max: 70 },
    { prompt: promptOf(127, 13), max: 9 },
    { prompt: promptOf(200, 14), max: 24 },
    { prompt: promptOf(17, 15), max: 5 },
  ];

  /** Every spec's tokens, all submitted at once (they batch, join and leave), on one engine. */
  async function generateAll(model: TinyPreset, sampling: SamplingParams) {
    const logged: string[] = [];
    const log: Log = ({ msg }) => logged.push(msg);
    const engine = await tinyEngine({ prefillChunkTokens: 48, maxStepTokens: 96, log }, model);
    try {
      const runs = specs.map((spec, i) =>
        collect(engine.submit(request(`${model}-${i}`, spec.prompt, spec.max, { ...sampling, seed: i }))),
      );
      return { tokens: (await Promise.all(runs)).map((run) => run.tokens), logged };
    } finally {
      await engine.close();
    }
  }

  for (const [mode, sampling] of [
    ["greedy", { temperature: 0 }],
    ["seeded sampling", { temperature: 1.1, topP: 0.95 }],
  ] as const) {
    it(`gives the same tokens as the standard layout (${mode})`, async () => {
      const standard = await generateAll("tiny", sampling);
      const append = await generateAll("tiny-append", sampling);
      expect(standard.logged).toContain("model tiny: standard KV cache layout, float32 cache of 4 KV heads x 16");
      expect(append.logged).toContain("model tiny-append: append KV cache layout, float32 cache of 4 KV heads x 16");
      append.tokens.forEach((tokens, i) => {
        expect(tokens, `spec ${i}`).toHaveLength(specs[i].max);
        expect(tokens, `spec ${i}`).toEqual(standard.tokens[i]);
      });
    });
  }
});
