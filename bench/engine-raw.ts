// Engine vs a minimal raw ONNX Runtime greedy loop at the same batch size (the raw loop is the ceiling:
// equal prompt lengths so no padding, present fed back as past, no scheduler, no sampler plugin).
// Usage: npx tsx bench/engine-raw.ts [--preset tiny] [--batch 8] [--prompt 64] [--tokens 64] [--runs 3] [--threads N]
// `--threads`: ONNX Runtime intra-op threads of both sessions (1 keeps a loaded shared box's contention out).
import { parseArgs } from "node:util";
import { Engine, engineSizing, inProcessSampler, readModelConfig } from "@llm/engine";
import { jsonLog } from "@llm/log";
import { ensureModel } from "@llm/model-pack";
import { Sampler, type SamplingParams } from "@llm/sampling";
import { engineGreedyRun, median } from "./engine-run.js";
import { openRawModel, type RawModel, rawGreedy } from "./raw-loop.js";

const { values } = parseArgs({
  options: {
    preset: { type: "string", default: "tiny" },
    batch: { type: "string", default: "8" },
    prompt: { type: "string", default: "64" },
    tokens: { type: "string", default: "64" },
    runs: { type: "string", default: "3" },
    threads: { type: "string" },
  },
});
const batch = Number(values.batch);
const promptLength = Number(values.prompt);
const newTokens = Number(values.tokens);
const runs = Number(values.runs);

const dir = (await ensureModel(values.preset)).dir;
// Ids within every bundled tokenizer (GPT-2's 50,257; Llama 2's 32,000 for smollm2-135m).
const idRange = Math.min(50_000, (await readModelConfig(dir)).tokenizerVocabSize);
const prompts = Array.from({ length: batch }, (_, b) =>
  Array.from({ length: promptLength }, (_, i) => (i * 7919 + b * 104_729 + 13) % idRange),
);

async function rawRun(model: RawModel) {
  const run = await rawGreedy(model, prompts, newTokens);
  return {
    prefillMs: run.prefillMs,
    stepMsP50: median(run.stepMs),
    decodeTokensPerSecond: (batch * (newTokens - 1) * 1000) / (run.totalMs - run.prefillMs),
  };
}

async function engineRun(engine: Engine<SamplingParams>, run: number) {
  const { tokens: _, ...timings } = await engineGreedyRun(engine, prompts, newTokens, `r${run}`);
  return timings;
}

const intraOpThreads = values.threads === undefined ? undefined : Number(values.threads);
const raw = await openRawModel(dir, { intraOpThreads });
const engine = await Engine.load({
  ...engineSizing({ LLM_EXECUTION_PROVIDERS: "cpu", LLM_KV_CACHE_BYTES: String(2 * 1024 ** 3) }),
  modelDir: dir,
  sampler: inProcessSampler(new Sampler({ vocabSize: raw.vocab })),
  maxBatchSize: Math.max(batch, 1),
  maxStepTokens: Math.max(batch * promptLength + batch, 512),
  prefillChunkTokens: promptLength,
  prefixCacheBytes: 0, // every run prefills the full prompt, like the raw loop
  intraOpThreads,
  log: jsonLog("warn"),
});
await rawRun(raw); // warm-up
await engineRun(engine, -1);
const rawRuns = [];
const eng = [];
for (let r = 0; r < runs; r++) {
  rawRuns.push(await rawRun(raw));
  eng.push(await engineRun(engine, r));
}
const summarize = (rs: Awaited<ReturnType<typeof rawRun>>[]) => ({
  prefillMs: median(rs.map((r) => r.prefillMs)),
  stepMsP50: median(rs.map((r) => r.stepMsP50)),
  decodeTokensPerSecond: median(rs.map((r) => r.decodeTokensPerSecond)),
});
const rawSummary = summarize(rawRuns);
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
await raw.session.release();
