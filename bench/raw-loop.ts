// The ceiling the engine is measured against: a minimal ONNX Runtime greedy loop over equal-length prompts
// (no padding, no scheduler, no sampler plugin, `present` fed straight back as `past`).
import { join } from "node:path";
import { readModelConfig } from "@llm/engine";
import * as ort from "onnxruntime-node";

export interface RawModel {
  session: ort.InferenceSession;
  /** The cache outputs stay where the provider computed them (a GPU buffer) and go back in as the next past. */
  kvOnDevice: boolean;
  layers: number;
  /** KV heads (num_key_value_heads). */
  heads: number;
  headDim: number;
  vocab: number;
  /** The graph declares num_logits_to_keep (the model pack's GPT-2 graphs; Optimum's Llama exports do not). */
  keepsLastLogits: boolean;
}

export interface RawRun {
  /** The prefill forward plus the first greedy pick. */
  prefillMs: number;
  /** Each decode step (forward + greedy pick for the whole batch). */
  stepMs: number[];
  totalMs: number;
  /** Tokens generated over the batch (prefill's pick included). */
  tokens: number;
}

export interface RawModelOptions {
  /** Execution provider (default cpu). */
  provider?: "cpu" | "webgpu" | "cuda";
  /** Keep `present.*` in GPU buffers between steps (WebGPU's `preferredOutputLocation: "gpu-buffer"`). */
  kvOnDevice?: boolean;
  /** ONNX Runtime's intra-op threads (default: its own choice). */
  intraOpThreads?: number;
}

export async function openRawModel(dir: string, options: RawModelOptions = {}): Promise<RawModel> {
  const config = await readModelConfig(dir);
  const kvOnDevice = options.kvOnDevice ?? false;
  const session = await ort.InferenceSession.create(join(dir, "onnx", "model.onnx"), {
    graphOptimizationLevel: "all",
    executionProviders: [options.provider ?? "cpu"],
    ...(options.intraOpThreads === undefined ? {} : { intraOpNumThreads: options.intraOpThreads }),
    // Every output but the logits stays on the device; the logits come to the host for the pick.
    ...(kvOnDevice
      ? {
          preferredOutputLocation: Object.fromEntries(
            Array.from({ length: config.numLayers }, (_, l) => [
              [`present.${l}.key`, "gpu-buffer"],
              [`present.${l}.value`, "gpu-buffer"],
            ]).flat() as [string, "gpu-buffer"][],
          ),
        }
      : {}),
  });
  return {
    session,
    kvOnDevice,
    layers: config.numLayers,
    heads: config.numKvHeads,
    headDim: config.headDim,
    vocab: config.vocabSize,
    keepsLastLogits: session.inputNames.includes("num_logits_to_keep"),
  };
}

const int64 = (xs: number[]) => BigInt64Array.from(xs, BigInt);

/** Greedy generation of `newTokens` for every prompt at once; all prompts must have the same length. */
export async function rawGreedy(model: RawModel, prompts: number[][], newTokens: number): Promise<RawRun> {
  const batch = prompts.length;
  const promptLength = prompts[0].length;
  if (prompts.some((p) => p.length !== promptLength)) throw new Error("the raw loop takes equal-length prompts only");
  let past: Record<string, ort.Tensor> = {};
  for (let l = 0; l < model.layers; l++)
    for (const kind of ["key", "value"])
      past[`past_key_values.${l}.${kind}`] = new ort.Tensor("float32", new Float32Array(0), [
        batch,
        model.heads,
        0,
        model.headDim,
      ]);
  let ids = prompts.flat();
  let length = 0;
  let step = promptLength;
  const stepMs: number[] = [];
  let prefillMs = 0;
  const started = performance.now();
  for (let t = 0; t < newTokens; t++) {
    const stepStart = performance.now();
    const total = length + step;
    const positions = Array.from({ length: batch * step }, (_, i) => length + (i % step));
    const out = await model.session.run({
      input_ids: new ort.Tensor("int64", int64(ids), [batch, step]),
      attention_mask: new ort.Tensor("int64", new BigInt64Array(batch * total).fill(1n), [batch, total]),
      position_ids: new ort.Tensor("int64", int64(positions), [batch, step]),
      ...(model.keepsLastLogits ? { num_logits_to_keep: new ort.Tensor("int64", new BigInt64Array([1n]), []) } : {}),
      ...past,
    });
    const logits = out.logits.data as Float32Array;
    const kept = out.logits.dims[1];
    const last = (b: number) => (b * kept + kept - 1) * model.vocab;
    ids = Array.from({ length: batch }, (_, b) => argmax(logits, last(b), model.vocab));
    if (model.kvOnDevice && t > 0) for (const tensor of Object.values(past)) tensor.dispose();
    past = {};
    for (let l = 0; l < model.layers; l++)
      for (const kind of ["key", "value"]) past[`past_key_values.${l}.${kind}`] = out[`present.${l}.${kind}`];
    length = total;
    step = 1;
    if (t === 0) prefillMs = performance.now() - stepStart;
    else stepMs.push(performance.now() - stepStart);
  }
  const totalMs = performance.now() - started;
  if (model.kvOnDevice) for (const tensor of Object.values(past)) tensor.dispose();
  return { prefillMs, stepMs, totalMs, tokens: batch * newTokens };
}

function argmax(values: Float32Array, offset: number, length: number): number {
  let best = 0;
  for (let i = 1; i < length; i++) if (values[offset + i] > values[offset + best]) best = i;
  return best;
}
