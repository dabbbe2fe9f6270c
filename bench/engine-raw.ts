// Engine vs a minimal raw ONNX Runtime greedy loop at the same batch size (the raw loop is the ceiling:
// equal prompt lengths so no padding, present fed back as past, no scheduler, no sampler plugin).
// Usage: npx tsx bench/engine-raw.ts [--preset tiny] [--batch 8] [--prompt 64] [--tokens 64] [--runs 3]
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Engine, inProcessSampler } from "@llm/engine";
import { ensureModel } from "@llm/model-pack";
import { Sampler, type SamplingParams } from "@llm/sampling";
import * as ort from "onnxruntime-node";

const { values } = parseArgs({
  options: {
    preset: { type: "string", default: "tiny" },
    batch: { type: "string", default: "8" },
    prompt: { type: "string", default: "64" },
    tokens: { type: "string", default: "64" },
    runs: { type: "string", default: "3" },
  },
});
const batch = Number(values.batch);
const promptLength = Number(values.prompt);
const newTokens = Number(values.tokens);
const runs = Number(values.runs);

const dir = (await ensureModel(values.preset)).dir;
const config = JSON.parse(await import("node:fs/promises").then((fs) => fs.readFile(join(dir, "config.json"), "utf8")));
const prompts = Array.from({ length: batch }, (_, b) =>
  Array.from({ length: promptLength }, (_, i) => (i * 7919 + b * 104_729 + 13) % 50_000),
);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const int64 = (xs: number[]) => BigInt64Array.from(xs, BigInt);

async function rawRun(session: ort.InferenceSession) {
  const layers: number = config.n_layer;
  const heads: number = config.n_head;
  const headDim = config.n_embd / heads;
  const vocab: number = config.vocab_size;
  let past: Record<string, ort.Tensor> = {};
  for (let l = 0; l < layers; l++)
    for (const kind of ["key", "value"])
      past[`past_key_values.${l}.${kind}`] = new ort.Tensor("float32", new Float32Array(0), [batch, heads, 0, headDim]);
  let ids = prompts.flat();
  let length = 0;
  let step = promptLength;
  const stepMs: number[] = [];
  const started = performance.now();
  let decodeStarted = 0;
  for (let t = 0; t <= newTokens - 1; t++) {
    const stepStart = performance.now();
    const total = length + step;
    const positions = Array.from({ length: batch * step }, (_, i) => length + (i % step));
    const out = await session.run({
      input_ids: new ort.Tensor("int64", int64(ids), [batch, step]),
      attention_mask: new ort.Tensor("int64", new BigInt64Array(batch * total).fill(1n), [batch, total]),
      position_ids: new ort.Tensor("int64", int64(positions), [batch, step]),
      num_logits_to_keep: new ort.Tensor("int64", new BigInt64Array([1n]), []),
      ...past,
    });
    const logits = out.logits.data as Float32Array;
    ids = Array.from({ length: batch }, (_, b) => {
      let best = 0;
      for (let i = 1; i < vocab; i++) if (logits[b * vocab + i] > logits[b * vocab + best]) best = i;
      return best;
    });
    past = {};
    for (let l = 0; l < layers; l++)
      for (const kind of ["key", "value"]) past[`past_key_values.${l}.${kind}`] = out[`present.${l}.${kind}`];
    length = total;
    step = 1;
    if (t === 0) decodeStarted = performance.now();
    else stepMs.push(performance.now() - stepStart);
  }
  const end = performance.now();
  return {
    prefillMs: decodeStarted - started,
    stepMsP50: median(stepMs),
    decodeTokensPerSecond: (batch * (newTokens - 1) * 1000) / (end - decodeStarted),
  };
}

async function engineRun(engine: Engine<SamplingParams>, run: number) {
  const started = performance.now();
  const itl: number[] = [];
  const firstTokenAt: number[] = [];
  const streams = prompts.map(async (promptIds, b) => {
    for await (const e of engine.submit({
      requestId: `r${run}-${b}`,
      promptIds,
      maxTokens: newTokens,
      sampling: { temperature: 0 },
      ignoreEos: true,
    })) {
      if (e.type !== "token") continue;
      if (e.index === 0) firstTokenAt.push(performance.now());
      else itl.push(e.timing.sincePreviousMs);
    }
  });
  await Promise.all(streams);
  const end = performance.now();
  const decodeStarted = Math.max(...firstTokenAt);
  return {
    prefillMs: decodeStarted - started,
    stepMsP50: median(itl),
    decodeTokensPerSecond: (batch * (newTokens - 1) * 1000) / (end - decodeStarted),
  };
}

const session = await ort.InferenceSession.create(join(dir, "onnx", "model.onnx"), { graphOptimizationLevel: "all" });
const engine = await Engine.load({
  modelDir: dir,
  sampler: inProcessSampler(new Sampler({ vocabSize: config.vocab_size })),
  maxBatchSize: Math.max(batch, 1),
  maxStepTokens: Math.max(batch * promptLength + batch, 512),
  prefillChunkTokens: promptLength,
  prefixCacheBytes: 0, // every run prefills the full prompt, like the raw loop
  logger: { info: () => {}, warn: console.warn },
});
await rawRun(session); // warm-up
await engineRun(engine, -1);
const raw = [];
const eng = [];
for (let r = 0; r < runs; r++) {
  raw.push(await rawRun(session));
  eng.push(await engineRun(engine, r));
}
const summarize = (rs: Awaited<ReturnType<typeof rawRun>>[]) => ({
  prefillMs: median(rs.map((r) => r.prefillMs)),
  stepMsP50: median(rs.map((r) => r.stepMsP50)),
  decodeTokensPerSecond: median(rs.map((r) => r.decodeTokensPerSecond)),
});
const rawSummary = summarize(raw);
const engineSummary = summarize(eng);
console.log(
  JSON.stringify(
    {
      preset: values.preset,
      batch,
      promptLength,
      newTokens,
      runs,
      raw: rawSummary,
      engine: engineSummary,
      engineOverRawTokensPerSecond: engineSummary.decodeTokensPerSecond / rawSummary.decodeTokensPerSecond,
      engineOverRawStepMs: engineSummary.stepMsP50 / rawSummary.stepMsP50,
    },
    null,
    2,
  ),
);
await engine.close();
await session.release();
