// What cluster dispatch adds over local mode, at the gateway's dispatch layer (the tokenizer and detokenizer work
// is the same in both modes and left out): ONE model-runner process with LLM_REDIS_URL serves both the gRPC
// Generate call (local mode) and its BullMQ queue (cluster mode: job in, token events on a Redis Stream, read by
// the gateway's multiplexed XREAD). Requests run one at a time, alternating local and cluster so machine load
// hits both alike; same prompt, greedy, so both modes must give the same tokens.
//   per request: time to first token (TTFT), cluster p50 minus local p50   (target ≤ 2 ms)
//   per token:   gap between successive tokens at the consumer (ITL), cluster p50 minus local p50 (target ≤ 0.2 ms)
// Run: npx tsx bench/cluster-dispatch.ts   (prints one JSON object; starts its own redis-server)
import { cpus, loadavg } from "node:os";
import { ensureModel } from "@llm/model-pack";
import {
  create,
  GenerateRequestSchema,
  ModelRunnerService,
  ModelRunnerServiceGenerateRequestSchema,
  type ModelRunnerServiceGenerateResponse,
} from "@llm/proto";
import { createClient } from "@llm/rpc";
import { connectDispatcher, startRedisServer, startService } from "@llm/testing";

const ROUNDS = 10;
const REQUESTS_PER_ROUND = 20;
const WARMUP = 20;
const MAX_TOKENS = 32;
const PROMPT = Array.from({ length: 16 }, (_, i) => (i * 7919 + 13) % 50_000);

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const round = (value: number, digits = 3) => Number(value.toPrecision(digits));
function stats(ms: number[]) {
  const sorted = [...ms].sort((a, b) => a - b);
  return { p50Ms: round(quantile(sorted, 0.5)), p99Ms: round(quantile(sorted, 0.99)), n: ms.length };
}

const redis = await startRedisServer();
const model = await ensureModel("tiny");
const runner = await startService("services/model-runner/src/main.ts", {
  name: "model-runner",
  env: { LLM_MODEL_DIR: model.dir, LLM_MODEL_ID: "tiny", LLM_REDIS_URL: redis.url, LLM_LOG_LEVEL: "warn" },
  timeoutMs: 60_000,
});
const local = createClient(ModelRunnerService, runner.address);
const cluster = await connectDispatcher(redis.url, { keepFinishedJobs: 100 });

let sequence = 0;
function runnerRequest() {
  const requestId = `bench-${sequence++}`;
  return create(ModelRunnerServiceGenerateRequestSchema, {
    requestId,
    model: "tiny",
    promptTokenIds: PROMPT,
    maxTokens: MAX_TOKENS,
    ignoreEos: true,
    sampling: { temperature: 0, seed: 1n },
  });
}

const modes = {
  local: (request: ReturnType<typeof runnerRequest>) => local.generate(request),
  cluster: (request: ReturnType<typeof runnerRequest>) =>
    cluster.generate(request, create(GenerateRequestSchema, { requestId: request.requestId, model: "tiny" }), {
      signal: new AbortController().signal,
    }),
};
type Mode = keyof typeof modes;
const samples = {
  local: { ttft: [] as number[], itl: [] as number[] },
  cluster: { ttft: [] as number[], itl: [] as number[] },
};
const tokensOf: Partial<Record<Mode, string>> = {};

async function once(mode: Mode, record: boolean): Promise<void> {
  const started = performance.now();
  let previous = started;
  const ids: number[] = [];
  for await (const { event } of modes[mode](runnerRequest()) as AsyncIterable<ModelRunnerServiceGenerateResponse>) {
    if (event.case !== "token") continue;
    const now = performance.now();
    if (record) (ids.length === 0 ? samples[mode].ttft : samples[mode].itl).push(now - previous);
    previous = now;
    ids.push(event.value.tokenId);
  }
  if (ids.length !== MAX_TOKENS) throw new Error(`${mode}: ${ids.length} tokens, expected ${MAX_TOKENS}`);
  tokensOf[mode] ??= ids.join();
  if (tokensOf[mode] !== ids.join()) throw new Error(`${mode}: greedy tokens changed between runs`);
}

try {
  for (let i = 0; i < WARMUP; i++) for (const mode of ["local", "cluster"] as const) await once(mode, false);
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < REQUESTS_PER_ROUND; i++) {
      // Alternate which mode goes first, so neither always follows the other's leftovers.
      const order: Mode[] = (r + i) % 2 === 0 ? ["local", "cluster"] : ["cluster", "local"];
      for (const mode of order) await once(mode, true);
    }
  }
  if (tokensOf.local !== tokensOf.cluster) throw new Error("local and cluster mode gave different tokens");
} finally {
  local.close();
  await cluster.close();
  await runner.stop();
  await redis.stop();
}

const result = {
  benchmark: "cluster-dispatch",
  request: {
    promptTokens: PROMPT.length,
    maxTokens: MAX_TOKENS,
    greedy: true,
    model: "tiny",
    requestsEach: ROUNDS * REQUESTS_PER_ROUND,
  },
  local: { ttft: stats(samples.local.ttft), interToken: stats(samples.local.itl) },
  cluster: { ttft: stats(samples.cluster.ttft), interToken: stats(samples.cluster.itl) },
  addedPerRequestMsP50: round(stats(samples.cluster.ttft).p50Ms - stats(samples.local.ttft).p50Ms),
  addedPerTokenMsP50: round(stats(samples.cluster.itl).p50Ms - stats(samples.local.itl).p50Ms),
  targets: { perRequestMsP50: 2, perTokenMsP50: 0.2 },
  sameTokens: true,
  machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, loadavg1m: round(loadavg()[0]) },
};
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
