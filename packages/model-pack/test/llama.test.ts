// The Llama builder's graphs against its float64 reference (written from the math, not the graph): fp32 within
// float32 rounding, fp16 within float16 rounding of the logits; and transformers.js reads the folder as a Llama.
import { basename, dirname, join } from "node:path";
import { AutoModelForCausalLM, env, Tensor } from "@huggingface/transformers";
import { fromFloat16 } from "@llm/prefix-cache";
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { ensureModel, headDim, llamaReferenceForward, llamaWeightsOf, presetByName } from "../src/index.js";
import { maxAbsDiff } from "./helpers.js";

const TOKENS = [5, 100, 2000, 17, 9999, 42, 7, 1234, 31_000, 64];

async function ortLogits(dir: string, file: string, name: string): Promise<Float32Array> {
  const { shape, llama } = presetByName(name);
  const session = await ort.InferenceSession.create(join(dir, "onnx", file), { intraOpNumThreads: 1 });
  const n = TOKENS.length;
  const half = file.includes("fp16");
  const feeds: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor("int64", BigInt64Array.from(TOKENS, BigInt), [1, n]),
    attention_mask: new ort.Tensor("int64", new BigInt64Array(n).fill(1n), [1, n]),
    position_ids: new ort.Tensor("int64", BigInt64Array.from(TOKENS.keys(), BigInt), [1, n]),
  };
  for (let layer = 0; layer < shape.nLayer; layer++) {
    for (const part of ["key", "value"]) {
      const dims = [1, llama?.nKvHead ?? 0, 0, headDim(shape, llama)];
      feeds[`past_key_values.${layer}.${part}`] = half
        ? new ort.Tensor("float16", new Uint16Array(0), dims)
        : new ort.Tensor("float32", new Float32Array(0), dims);
    }
  }
  const { logits } = await session.run(feeds);
  await session.release();
  return half ? fromFloat16(logits.data as Uint16Array) : (logits.data as Float32Array);
}

describe.each(["llama-tiny", "llama-tiny-headdim"])("%s", (name) => {
  it("model.onnx matches the float64 reference within float32 rounding, model_fp16.onnx within float16's", async () => {
    const { dir } = await ensureModel(name);
    const weights = llamaWeightsOf(presetByName(name));
    const exact = llamaReferenceForward(weights, TOKENS).logits;
    const fp32 = maxAbsDiff(await ortLogits(dir, "model.onnx", name), exact);
    const fp16 = maxAbsDiff(
      await ortLogits(dir, "model_fp16.onnx", name),
      llamaReferenceForward(weights, TOKENS, { half: true }).logits,
    );
    console.log(`${name}: max |logit - reference| fp32 ${fp32.toExponential(2)}, fp16 ${fp16.toExponential(2)}`);
    expect(fp32).toBeLessThanOrEqual(1e-4);
    // Logits near 8 are float16 values 2^-8 apart.
    expect(fp16).toBeLessThanOrEqual(2 ** -7);
  });

  it("transformers.js loads the folder as a Llama and computes the same logits", async () => {
    const { dir } = await ensureModel(name);
    env.allowRemoteModels = false;
    env.localModelPath = dirname(dir);
    const model = await AutoModelForCausalLM.from_pretrained(basename(dir), { dtype: "fp32", device: "cpu" });
    const ids = new Tensor("int64", BigInt64Array.from(TOKENS, BigInt), [1, TOKENS.length]);
    const mask = new Tensor("int64", new BigInt64Array(TOKENS.length).fill(1n), [1, TOKENS.length]);
    const { logits } = (await model({ input_ids: ids, attention_mask: mask })) as { logits: Tensor };
    await model.dispose();
    expect(maxAbsDiff(logits.data as Float32Array, await ortLogits(dir, "model.onnx", name))).toBeLessThanOrEqual(1e-5);
  });
});
