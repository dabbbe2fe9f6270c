// What the demo draft costs next to its target, measured rather than counted: the raw ONNX Runtime decode step
// (standard layout, `present` fed back as `past`) of `demo` and `demo-draft`, interleaved in one run, at each
// batch size and past length. Speculative decoding pays off only if a draft step is much cheaper than a target
// step; the model card's 1/4.6 is multiply-adds, this is wall-clock (fixed per-operator costs included).
// Usage: npx tsx bench/draft-cost.ts [--batch 1,8] [--past 32,96] [--steps 16] [--runs 5] [--threads 1]
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ensureModel, headDim, ONNX_MODEL_PATH, presetByName } from "@llm/model-pack";
import * as ort from "onnxruntime-node";

const { values } = parseArgs({
  options: {
    batch: { type: "string", default: "1,8" },
    past: { type: "string", default: "32,96" },
    steps: { type: "string", default: "16" },
    runs: { type: "string", default: "5" },
    threads: { type: "string", default: "1" },
  },
});
const list = (text: string) => text.split(",").map(Number);
const steps = Number(values.steps);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (value: number, digits = 3) => Number(value.toPrecision(digits));
const int64 = (length: number, value: bigint) => new BigInt64Array(length).fill(value);

const options: ort.InferenceSession.SessionOptions = {
  graphOptimizationLevel: "all",
  intraOpNumThreads: Number(values.threads),
};
const models = await Promise.all(
  ["demo", "demo-draft"].map(async (name) => ({
    shape: presetByName(name).shape,
    session: await ort.InferenceSession.create(join((await ensureModel(name)).dir, ONNX_MODEL_PATH), options),
  })),
);

/** Median ms of `steps` decode steps from a `past`-long cache (synthetic values: a step's cost ignores them). */
async function decodeSteps({ shape, session }: (typeof models)[number], batch: number, past: number) {
  let cache: Record<string, ort.Tensor> = {};
  for (let l = 0; l < shape.nLayer; l++) {
    for (const kind of ["key", "value"]) {
      const data = new Float32Array(batch * shape.nHead * past * headDim(shape)).fill(0.01);
      cache[`past_key_values.${l}.${kind}`] = new ort.Tensor("float32", data, [
        batch,
        shape.nHead,
        past,
        headDim(shape),
      ]);
    }
  }
  const times: number[] = [];
  for (let step = 0; step < steps; step++) {
    const total = past + step + 1;
    const started = performance.now();
    const out = await session.run({
      input_ids: new ort.Tensor("int64", int64(batch, 7n), [batch, 1]),
      attention_mask: new ort.Tensor("int64", int64(batch * total, 1n), [batch, total]),
      position_ids: new ort.Tensor("int64", int64(batch, BigInt(past + step)), [batch, 1]),
      num_logits_to_keep: new ort.Tensor("int64", BigInt64Array.of(1n), []),
      ...cache,
    });
    times.push(performance.now() - started);
    cache = {};
    for (let l = 0; l < shape.nLayer; l++) {
      cache[`past_key_values.${l}.key`] = out[`present.${l}.key`];
      cache[`past_key_values.${l}.value`] = out[`present.${l}.value`];
    }
  }
  return median(times);
}

const results = [];
for (const batch of list(values.batch)) {
  for (const past of list(values.past)) {
    const [target, draft]: number[][] = [[], []];
    for (let run = 0; run < Number(values.runs); run++) {
      target.push(await decodeSteps(models[0], batch, past));
      draft.push(await decodeSteps(models[1], batch, past));
    }
    const [targetMs, draftMs] = [median(target), median(draft)];
    results.push({ batch, past, targetMs: round(targetMs), draftMs: round(draftMs), ratio: round(draftMs / targetMs) });
  }
}
const machine = { cpus: cpus().length, loadavg: loadavg().map((x) => round(x, 2)) };
const settings = { steps, runs: Number(values.runs), threads: Number(values.threads) };
console.log(JSON.stringify({ bench: "draft-cost", ...settings, machine, results }));
