// Embeddings through the gateway (HTTP /v1/embeddings → embedder, batching across requests by length) vs
// transformers.js's feature-extraction pipeline on the same embed-tiny folder, in the same run: the pipeline one
// input at a time, and in static batches (the best of several sizes). Our side: closed-loop clients, each sending
// one input per request, at 1, 16 and 64 concurrent requests. Inputs: mixed lengths (1–200 words of the prose
// sample, seeded). Every vector is checked against the pipeline's (max abs diff) before timing.
// Both sides run their ONNX Runtime session with the same intra-op thread count (--threads; 0 = ORT's default).
// Rounds interleave every configuration, so load from other jobs hits them alike; the JSON has medians.
// Run: npx tsx bench/embeddings.ts [--inputs 256] [--rounds 3] [--threads 1]   (prints one JSON object)
import { cpus, loadavg } from "node:os";
import { basename, dirname } from "node:path";
import { parseArgs } from "node:util";
import { env, pipeline } from "@huggingface/transformers";
import { ensureModel } from "@llm/model-pack";
import { ServiceGroup } from "@llm/testing";
import { readSamples, seededRandom } from "./corpus/corpus.js";

const { values } = parseArgs({
  options: {
    inputs: { type: "string", default: "256" },
    rounds: { type: "string", default: "3" },
    threads: { type: "string", default: "1" },
  },
});
const ROUNDS = Number(values.rounds);
const INPUTS = Number(values.inputs);
const THREADS = Number(values.threads);
const CONCURRENCY = [1, 16, 64];
const BATCH_SIZES = [8, 16, 32, 64];

const words = readSamples().prose.split(/\s+/).filter(Boolean);
const random = seededRandom(20_261_204);
const inputs = Array.from({ length: INPUTS }, () => {
  const length = 1 + Math.floor(random() ** 2 * 200); // mostly short, some long, as real queries and passages mix
  const start = Math.floor(random() * (words.length - length));
  return words.slice(start, start + length).join(" ");
});

const round = (value: number, digits = 3) => Number(value.toPrecision(digits));
const perSecond = (count: number, ms: number) => round((count * 1000) / ms);

const model = await ensureModel("embed-tiny");
const tiny = await ensureModel("tiny");
env.allowRemoteModels = false;
env.localModelPath = dirname(model.dir);
const extractor = await pipeline("feature-extraction", basename(model.dir), {
  dtype: "fp32",
  device: "cpu",
  session_options: THREADS > 0 ? { intraOpNumThreads: THREADS } : {},
});
const extract = async (batch: string[]) =>
  (await extractor(batch, { pooling: "mean", normalize: true })).tolist() as number[][];

const services = new ServiceGroup();
const quiet = { LLM_LOG_LEVEL: "warn" };
const modelEnv = { ...quiet, LLM_MODEL_DIR: tiny.dir, LLM_MODEL_ID: "tiny" };
const [tokenizer, runner, detokenizer, embedder] = await services.start([
  ["services/tokenizer/src/main.ts", { name: "tokenizer", env: modelEnv, timeoutMs: 120_000 }],
  ["services/model-runner/src/main.ts", { name: "model-runner", env: modelEnv, timeoutMs: 120_000 }],
  ["services/detokenizer/src/main.ts", { name: "detokenizer", env: modelEnv, timeoutMs: 120_000 }],
  [
    "services/embedder/src/main.ts",
    {
      name: "embedder",
      env: {
        ...quiet,
        LLM_MODEL_DIR: model.dir,
        LLM_MODEL_ID: "embed-tiny",
        ...(THREADS > 0 ? { LLM_EMBED_INTRA_OP_THREADS: String(THREADS) } : {}),
      },
      timeoutMs: 120_000,
    },
  ],
]);
const [gateway] = await services.start([
  [
    "services/gateway/src/main.ts",
    {
      name: "gateway",
      timeoutMs: 120_000,
      env: {
        ...quiet,
        LLM_TOKENIZER_URL: tokenizer.address,
        LLM_RUNNER_URL: runner.address,
        LLM_DETOKENIZER_URL: detokenizer.address,
        LLM_EMBEDDER_URL: embedder.address,
      },
    },
  ],
]);
const url = `${await gateway.listening("gateway-http")}/v1/embeddings`;

async function embedOne(input: string): Promise<number[]> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "embed-tiny", input, encoding_format: "float" }),
  });
  if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { data: { embedding: number[] }[] }).data[0].embedding;
}

/** Closed loop: `clients` workers take the next input until all are sent; inputs/s over the whole run. */
async function gatewayRun(clients: number): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < inputs.length) await embedOne(inputs[next++]);
    }),
  );
  return perSecond(inputs.length, performance.now() - started);
}

async function transformersRun(batchSize: number): Promise<number> {
  const started = performance.now();
  for (let at = 0; at < inputs.length; at += batchSize) await extract(inputs.slice(at, at + batchSize));
  return perSecond(inputs.length, performance.now() - started);
}

try {
  // Correctness first: every input through the gateway (concurrently) vs the pipeline one by one.
  const ours = await Promise.all(inputs.map(embedOne));
  let maxAbsDiff = 0;
  for (const [i, input] of inputs.entries()) {
    const [expected] = await extract([input]);
    for (let d = 0; d < expected.length; d++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(ours[i][d] - expected[d]));
  }
  await transformersRun(16); // warm-up of both sides
  await gatewayRun(16);

  const runs: Record<string, number[]> = {};
  const record = (key: string, value: number) => {
    runs[key] ??= [];
    runs[key].push(value);
  };
  for (let round = 0; round < ROUNDS; round++) {
    for (const size of [1, ...BATCH_SIZES]) record(`transformers-${size}`, await transformersRun(size));
    for (const clients of CONCURRENCY) record(`gateway-${clients}`, await gatewayRun(clients));
  }
  const median = (key: string) => {
    const sorted = [...runs[key]].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)];
  };
  const oneByOne = median("transformers-1");
  const batches = Object.fromEntries(BATCH_SIZES.map((size) => [size, median(`transformers-${size}`)]));
  const bestBatch = Math.max(...Object.values(batches));
  const gatewayInputsPerSecond = Object.fromEntries(CONCURRENCY.map((c) => [c, median(`gateway-${c}`)]));
  const at64 = gatewayInputsPerSecond[64];
  console.log(
    JSON.stringify(
      {
        bench: "embeddings",
        model: "embed-tiny (2 layers, 128 wide, bert-base-uncased tokenizer)",
        inputs: INPUTS,
        rounds: ROUNDS,
        intraOpThreads: THREADS || "onnxruntime default",
        meanWords: round(inputs.reduce((sum, s) => sum + s.split(" ").length, 0) / INPUTS),
        maxAbsDiffVsTransformersJs: maxAbsDiff,
        transformersJsInputsPerSecond: { oneByOne, byBatchSize: batches, bestBatch },
        gatewayInputsPerSecond,
        ratiosAt64: { vsOneByOne: round(at64 / oneByOne), vsBestBatch: round(at64 / bestBatch) },
        targetsAt64: { vsOneByOne: 3, vsBestBatch: 1.2 },
        runs,
        machine: { cpus: cpus().length, loadavg1m: round(loadavg()[0]) },
      },
      null,
      2,
    ),
  );
} finally {
  await services.stopAll();
}
