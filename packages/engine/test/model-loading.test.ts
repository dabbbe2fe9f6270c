// Loading the exports people deploy (the model pack's Llama builds: GQA, head_dim != hidden/heads, Qwen 3's padded
// vocabulary, fp16): what the engine reads from the folder, which graphs it refuses at load and with what message.
import { mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureModel } from "@llm/model-pack";
import { Sampler, type SamplingParams } from "@llm/sampling";
import { afterAll, describe, expect, it } from "vitest";
import {
  type EngineOptions,
  type EngineSampler,
  inProcessSampler,
  kvBytesPerToken,
  readModelConfig,
} from "../src/index.js";
import { collect, folderEngine, promptOf, request } from "./helpers.js";

const _quiet = { info: () => {}, warn: () => {} };
const temporary: string[] = [];
afterAll(() => Promise.all(temporary.map((dir) => rm(dir, { recursive: true, force: true }))));

/** paddingPeriod 1: these tests need no batch invariance, and skip the probe's forwards. */
function llamaEngine(
  dir: string,
  options: Partial<EngineOptions<SamplingParams>> = {},
  sampler?: EngineSampler<SamplingParams>,
) {
  return folderEngine(dir, { paddingPeriod: 1, ...options }, sampler);
}

/** A copy of a built folder (files linked) whose config.json is `edit(config)`. */
async function withConfig(preset: string, edit: (config: Record<string, unknown>) => object): Promise<string> {
  const source = (await ensureModel(preset)).dir;
  const dir = await mkdtemp(join(tmpdir(), `${preset}-`));
  temporary.push(dir);
  for (const file of ["generation_config.json", "tokenizer.json", "tokenizer_config.json", "onnx"]) {
    await symlink(join(source, file), join(dir, file));
  }
  const config = JSON.parse(await readFile(join(source, "config.json"), "utf8"));
  await writeFile(join(dir, "config.json"), JSON.stringify(edit(config)));
  return dir;
}

describe("reading an export folder", () => {
  it("reads KV heads, head_dim, rope, eos from config + generation_config + tokenizer, and the tokenizer's ids", async () => {
    const llama = await readModelConfig((await ensureModel("llama-tiny")).dir);
    expect(llama).toMatchObject({ numHeads: 4, numKvHeads: 2, headDim: 16, vocabSize: 128_256 });
    expect(llama.tokenizerVocabSize).toBe(128_256);
    expect(llama.rope).toEqual({
      theta: 500_000,
      scaling: expect.objectContaining({ rope_type: "llama3", factor: 8 }),
    });
    expect(llama.eosTokenIds.sort()).toEqual([128_001, 128_009]);
    // 2 layers x K and V x 2 KV heads x 16: half of what 4 query heads would take.
    expect(kvBytesPerToken(llama)).toBe(512);
    expect(kvBytesPerToken(llama, "float16")).toBe(256);

    const qwenStyle = await readModelConfig((await ensureModel("llama-tiny-headdim")).dir);
    expect(qwenStyle).toMatchObject({ numHeads: 4, numKvHeads: 2, headDim: 32, vocabSize: 151_936 });
    expect(qwenStyle.tokenizerVocabSize).toBe(151_669);
    expect(qwenStyle.eosTokenIds.sort()).toEqual([151_643, 151_645]);
  });

  it("reads a multimodal export's nested text_config", async () => {
    const dir = await withConfig("llama-tiny", (config) => ({ model_type: "wrapper", text_config: config }));
    expect(await readModelConfig(dir)).toMatchObject({ numLayers: 2, numKvHeads: 2, headDim: 16 });
  });
});

describe("refusing at load what would fail every request", () => {
  it.each([
    [
      "num_key_value_heads",
      { num_key_value_heads: 4 },
      /past_key_values\.0\.key has 2 heads, config.json says num_key_value_heads = 4/,
    ],
    ["head_dim", { head_dim: 32 }, /past_key_values\.0\.key has head size 16, config.json gives head_dim = 32/],
    [
      "no num_key_value_heads",
      { num_key_value_heads: undefined },
      /has 2 heads, config.json says num_key_value_heads = 4 \(num_key_value_heads unset/,
    ],
    [
      "layers",
      { num_hidden_layers: 3 },
      /4 past_key_values inputs, config.json's 3 layers need 6.*no input past_key_values\.2\.key/,
    ],
    ["vocab_size", { vocab_size: 128_300 }, /output logits has 128256 columns, config.json says vocab_size = 128300/],
  ])("a config whose %s disagrees with the graph", async (_, change, message) => {
    const dir = await withConfig("llama-tiny", (config) => ({ ...config, ...change }));
    await expect(llamaEngine(dir)).rejects.toThrow(message);
  });

  it("names a missing model file, by file name or dtype", async () => {
    const { dir } = await ensureModel("llama-tiny");
    await expect(llamaEngine(dir, { modelFile: "q4" })).rejects.toThrow(/onnx\/model_q4\.onnx \(dtype q4\) is missing/);
    await expect(llamaEngine(dir, { modelFile: "model_int8.onnx" })).rejects.toThrow(
      /onnx\/model_int8\.onnx is missing/,
    );
  });
});

describe("serving the builds", () => {
  it("never lets a sampler see an id the tokenizer lacks (Qwen's padded vocabulary)", async () => {
    const { dir } = await ensureModel("llama-tiny-headdim");
    const library = inProcessSampler(new Sampler({ vocabSize: 151_936 }));
    let checked = 0;
    const watching: EngineSampler<SamplingParams> = {
      ...library,
      sample(batch) {
        for (const { logits } of batch) {
          expect(logits.subarray(151_669).every((value) => value === Number.NEGATIVE_INFINITY)).toBe(true);
          expect(Number.isFinite(logits[151_668])).toBe(true);
          checked++;
        }
        return library.sample(batch);
      },
    };
    const engine = await llamaEngine(dir, {}, watching);
    try {
      await collect(engine.submit(request("masked", promptOf(12, 1), 6, { temperature: 2, seed: 3 })));
      expect(checked).toBe(6);
    } finally {
      await engine.close();
    }
  });

  it("reserves half the KV bytes per token for the fp16 file", async () => {
    const { dir } = await ensureModel("llama-tiny");
    const reserved = async (modelFile: string) => {
      const engine = await llamaEngine(dir, { modelFile });
      try {
        const stream = engine.submit(request("r", promptOf(10, 2), 6));
        const used = engine.info().kvBytesUsed;
        expect((await collect(stream)).final.finishReason).toBe("length");
        return used;
      } finally {
        await engine.close();
      }
    };
    expect(await reserved("fp32")).toBe(16 * 512);
    expect(await reserved("fp16")).toBe(16 * 256);
  });
});
