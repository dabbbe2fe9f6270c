// KV-aware routing vs plain shared-queue dispatch, same run: two model-runner processes (gpt2-small shape) in
// cluster mode on one Redis, requests built from 8 distinct 512-token system prompts (+ a 32-token user part),
// sent through the gateway's dispatcher two at a time in a seeded random order. Each mode uses its own
// cache_salt, so neither reuses the other's blocks. Reports the prefix-cache hit rate (prompt tokens served
// from cache), which tier served them (runner memory vs the shared Redis tier), and TTFT.
// Usage: npx tsx bench/kv-routing.ts [--preset gpt2-small] [--requests 32] [--concurrency 2]
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { ensureModel } from "@llm/model-pack";
import { create, GenerateRequestSchema, ModelRunnerService, ModelRunnerServiceGenerateRequestSchema } from "@llm/proto";
import { createClient } from "@llm/rpc";
import { acquireRedis, connectDispatcher, startService } from "@llm/testing";

const { values } = parseArgs({
  options: {
    preset: { type: "string", default: "gpt2-small" },
    requests: { type: "string", default: "32" },
    concurrency: { type: "string", default: "2" },
  },
});
const requests = Number(values.requests);
const concurrency = Number(values.concurrency);
const SYSTEM_PROMPTS = 8;
const SYSTEM_TOKENS = 512;
const USER_TOKENS = 32;
const MODEL = `bench-${values.preset}`;

const model = await ensureModel(values.preset);
const redis = await acquireRedis();
const runnerIds = ["runner-0", "runner-1"];
const runners = await Promise.all(
  runnerIds.map((id) =>
    startService("services/model-runner/src/main.ts", {
      name: id,
      env: {
        LLM_MODEL_DIR: model.dir,
        LLM_MODEL_ID: MODEL,
        LLM_REDIS_URL: redis.url,
        LLM_RUNNER_ID: id,
        LLM_PREFIX_CACHE_BYTES: String(1024 ** 3),
        LLM_LOG_LEVEL: "warn",
      },
      timeoutMs: 180_000,
    }),
  ),
);
const clients = runners.map((runner) => createClient(ModelRunnerService, runner.address));

// Deterministic token ids and order (a small LCG), so both modes see the same workload.
let state = 12_345;
const random = () => {
  state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
  return state / 2 ** 31;
};
const tokens = (length: number, seed: number) =>
  Array.from({ length }, (_, i) => (i * 7919 + seed * 104_729 + 13) % 50_000);
const systems = Array.from({ length: SYSTEM_PROMPTS }, (_, s) => tokens(SYSTEM_TOKENS, 1000 + s));
const workload = Array.from({ length: requests }, (_, r) => [
  ...systems[Math.floor(random() * SYSTEM_PROMPTS)],
  ...tokens(USER_TOKENS, 5000 + r),
]);

const sharedHitBlocks = async () =>
  (await Promise.all(clients.map(async (c) => Number((await c.info({})).prefixCache?.sharedHitBlocks ?? 0n)))).reduce(
    (a, b) => a + b,
  );

async function run(kvAwareRouting: boolean) {
  const dispatcher = await connectDispatcher(redis.url, { streamTtlMs: 120_000, kvAwareRouting });
  const cacheSalt = `${kvAwareRouting ? "kv" : "shared"}-${randomUUID()}`;
  const redisBlocksBefore = await sharedHitBlocks();
  const ttft: number[] = [];
  let promptTokens = 0;
  let cachedTokens = 0;
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < workload.length) {
      const promptTokenIds = workload[next++];
      const request = create(ModelRunnerServiceGenerateRequestSchema, {
        requestId: randomUUID(),
        model: MODEL,
        promptTokenIds,
        maxTokens: 2,
        sampling: { temperature: 0 },
        ignoreEos: true,
        cacheSalt,
      });
      const admitted = create(GenerateRequestSchema, { requestId: request.requestId, model: MODEL });
      const sent = performance.now();
      for await (const { event } of dispatcher.generate(request, admitted, { signal: new AbortController().signal })) {
        if (event.case === "token" && event.value.index === 0) ttft.push(performance.now() - sent);
        if (event.case === "final") {
          promptTokens += event.value.usage?.promptTokens ?? 0;
          cachedTokens += event.value.usage?.cachedPromptTokens ?? 0;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const wallMs = performance.now() - started;
  await dispatcher.close();
  const redisTokens = ((await sharedHitBlocks()) - redisBlocksBefore) * 16;
  const sorted = [...ttft].sort((a, b) => a - b);
  return {
    hitRate: cachedTokens / promptTokens,
    cachedTokens,
    fromMemoryTokens: cachedTokens - redisTokens,
    fromRedisTokens: redisTokens,
    ttftMsMean: ttft.reduce((a, b) => a + b, 0) / ttft.length,
    ttftMsP50: sorted[Math.floor(sorted.length / 2)],
    wallMs,
    ttftMsAll: ttft.map(Math.round),
  };
}

// Warm both runners' ONNX sessions (first runs are slow) with a throwaway salt.
await Promise.all(
  clients.map(async (client) => {
    const request = { requestId: randomUUID(), model: MODEL, promptTokenIds: tokens(64, 1), maxTokens: 2 };
    for await (const _ of client.generate({ ...request, cacheSalt: "warm-up", ignoreEos: true })) {
      // drain
    }
  }),
);
const shared = await run(false);
const kvAware = await run(true);
console.log(
  JSON.stringify(
    {
      preset: values.preset,
      runners: runners.length,
      systemPrompts: SYSTEM_PROMPTS,
      systemTokens: SYSTEM_TOKENS,
      userTokens: USER_TOKENS,
      requests,
      concurrency,
      sharedQueue: shared,
      kvAware,
      ttftMeanRatioKvToShared: kvAware.ttftMsMean / shared.ttftMsMean,
    },
    null,
    2,
  ),
);
for (const client of clients) client.close();
await Promise.all(runners.map((runner) => runner.stop()));
await redis.stop();
