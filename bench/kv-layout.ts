// Raw decode step of the three KV layouts the model pack builds, same weights, same run, interleaved:
// `standard` (design §4: past and present are separate tensors; Concat copies the whole cache every step, and
// onnxruntime-node copies every output, present included, into a new JavaScript buffer), `gqa` (ONNX Runtime's
// GroupQueryAttention; each present output bound to its past input's buffer, so the graph writes only the new
// position in place, but onnxruntime-node still copies each bound output back out) and `append` (a cache the
// graph only reads; it outputs the new position's keys and values, which the loop writes into its buffers).
// Every row has `past` real positions (synthetic values: a step's cost does not depend on them) and decodes
// `steps` tokens. gqa and append caches have a capacity of past + steps rounded up to 64, as the engine sizes them.
// Usage: npx tsx bench/kv-layout.ts [--preset gpt2-small] [--batch 1,8,32] [--past 128,384] [--steps 8] [--runs 3]
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ensureModel, headDim, ONNX_MODEL_PATH, presetByName } from "@llm/model-pack";
import * as ort from "onnxruntime-node";

const { values } = parseArgs({
  options: {
    preset: { type: "string", default: "gpt2-small" },
    batch: { type: "string", default: "1,8,32" },
    past: { type: "string", default: "128,384" },
    steps: { type: "string", default: "8" },
    runs: { type: "string", default: "3" },
  },
});
const list = (text: string) => text.split(",").map(Number);
const steps = Number(values.steps);
const runs = Number(values.runs);
const { shape } = presetByName(values.preset);
const [layers, heads, hd] = [shape.nLayer, shape.nHead, headDim(shape)];
const CAPACITY_STEP = 64;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (value: number, digits = 3) => Number(value.toPrecision(digits));
const int64 = (length: number, value: bigint) => new BigInt64Array(length).fill(value);
const float32 = (length: number) => new Float32Array(length).map((_, i) => Math.sin(i) / 2);

const options: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: "all", intraOpNumThreads: 2 };
const openLayout = async (preset: string) =>
  ort.InferenceSession.create(join((await ensureModel(preset)).dir, ONNX_MODEL_PATH), options);
const standard = await openLayout(values.preset);
const gqa = await openLayout(`${values.preset}-gqa`);
const append = await openLayout(`${values.preset}-append`);

/** Inputs shared by both layouts for a decode step where every row holds `past` positions. */
function stepFeeds(batch: number, past: number): Record<string, ort.Tensor> {
  const total = past + 1;
  return {
    input_ids: new ort.Tensor("int64", int64(batch, 464n), [batch, 1]),
    attention_mask: new ort.Tensor("int64", int64(batch * total, 1n), [batch, total]),
    position_ids: new ort.Tensor("int64", int64(batch, BigInt(past)), [batch, 1]),
    num_logits_to_keep: new ort.Tensor("int64", BigInt64Array.of(1n), []),
  };
}

/** Median ms of a decode step, `present` fed back as the next step's `past`. */
async function standardSteps(batch: number, past: number): Promise<number> {
  let cache: Record<string, ort.Tensor> = {};
  const initial = float32(batch * heads * past * hd);
  for (let l = 0; l < layers; l++) {
    for (const kind of ["key", "value"]) {
      cache[`past_key_values.${l}.${kind}`] = new ort.Tensor("float32", initial.slice(), [batch, heads, past, hd]);
    }
  }
  const times: number[] = [];
  for (let s = 0; s < steps; s++) {
    const started = performance.now();
    const out = await standard.run({ ...stepFeeds(batch, past + s), ...cache });
    cache = {};
    for (let l = 0; l < layers; l++) {
      for (const kind of ["key", "value"]) cache[`past_key_values.${l}.${kind}`] = out[`present.${l}.${kind}`];
    }
    times.push(performance.now() - started);
  }
  return median(times);
}

type CacheStep = (
  feeds: Record<string, ort.Tensor>,
  buffers: Float32Array[],
  dims: number[],
  position: number,
) => Promise<void>;

/** Median ms of a decode step over fixed-capacity cache buffers (key and value per layer); `step` runs one. */
async function capacitySteps(batch: number, past: number, step: CacheStep): Promise<number> {
  const capacity = Math.ceil((past + steps) / CAPACITY_STEP) * CAPACITY_STEP;
  const dims = [batch, heads, capacity, hd];
  const buffers = Array.from({ length: 2 * layers }, () => float32(batch * heads * capacity * hd));
  const times: number[] = [];
  for (let s = 0; s < steps; s++) {
    const started = performance.now();
    await step(stepFeeds(batch, past + s), buffers, dims, past + s);
    times.push(performance.now() - started);
  }
  return median(times);
}

const cacheName = (prefix: string, t: number) => `${prefix}.${t >> 1}.${t % 2 ? "value" : "key"}`;

/** Each present output bound to its past buffer (written in place). */
const gqaStep: CacheStep = async (feeds, buffers, dims) => {
  const fetches: Record<string, ort.Tensor | null> = { logits: null };
  buffers.forEach((buffer, t) => {
    const tensor = new ort.Tensor("float32", buffer, dims);
    feeds[cacheName("past_key_values", t)] = tensor;
    fetches[cacheName("present", t)] = tensor;
  });
  await gqa.run(feeds, fetches as ort.InferenceSession.FetchesType);
};

/** The new position's keys and values copied into the loop's own buffers. */
const appendStep: CacheStep = async (feeds, buffers, dims, position) => {
  const [batch, , capacity] = dims;
  buffers.forEach((buffer, t) => {
    feeds[cacheName("past_key_values", t)] = new ort.Tensor("float32", buffer, dims);
  });
  const out = await append.run(feeds);
  buffers.forEach((buffer, t) => {
    const added = out[cacheName("new_key_values", t)].data as Float32Array;
    for (let row = 0; row < batch * heads; row++) {
      buffer.set(added.subarray(row * hd, (row + 1) * hd), (row * capacity + position) * hd);
    }
  });
};

const gqaSteps = (batch: number, past: number) => capacitySteps(batch, past, gqaStep);
const appendSteps = (batch: number, past: number) => capacitySteps(batch, past, appendStep);

const loadBefore = loadavg()[0];
const results = [];
for (const past of list(values.past)) {
  for (const batch of list(values.batch)) {
    await standardSteps(batch, past); // warm-up: ORT's arena and kernels for these shapes
    await gqaSteps(batch, past);
    await appendSteps(batch, past);
    const std: number[] = [];
    const shared: number[] = [];
    const appended: number[] = [];
    for (let r = 0; r < runs; r++) {
      std.push(await standardSteps(batch, past));
      shared.push(await gqaSteps(batch, past));
      appended.push(await appendSteps(batch, past));
    }
    const summary = (ms: number[]) => ({
      stepMs: round(median(ms)),
      rangeMs: [round(Math.min(...ms)), round(Math.max(...ms))],
      tokensPerSecond: round((batch * 1000) / median(ms)),
    });
    const row = {
      past,
      batch,
      standard: summary(std),
      gqa: summary(shared),
      append: summary(appended),
      gqaSpeedup: round(median(std) / median(shared)),
      appendSpeedup: round(median(std) / median(appended)),
    };
    console.error(JSON.stringify(row));
    results.push(row);
  }
}
console.log(
  JSON.stringify(
    {
      preset: values.preset,
      steps,
      runs,
      cpus: cpus().length,
      node: process.version,
      loadBefore: round(loadBefore),
      loadAfter: round(loadavg()[0]),
      results,
    },
    null,
    2,
  ),
);
await standard.release();
await gqa.release();
await append.release();
