// Model runner: the continuous-batching engine over ONNX Runtime, served as llm.v1.ModelRunnerService.
// Samples in-process by default; LLM_SAMPLER_URL makes it use a remote sampler service instead. With
// LLM_REDIS_URL set it also works its model's cluster queue (jobs go through the same generation path).
import { hostname } from "node:os";
import { readConfig } from "@llm/config";
import { Engine, type Sampler as EngineSampler, inProcessSampler, readModelConfig } from "@llm/engine";
import { servedModel } from "@llm/model-pack";
import { connectSharedTier, HotBlockPublisher, RedisBlockStore, redisTarget } from "@llm/prefix-cache";
import { ModelRunnerService, type SamplingParams } from "@llm/proto";
import { clusterKeys, DispatchWorker, whenReady } from "@llm/queue";
import { installSignalHandlers, registration, startServer, stderrLog } from "@llm/rpc";
import { Sampler } from "@llm/sampling";
import { REQUEST_TIMINGS_PATH } from "@llm/telemetry";
import { startTelemetry } from "@llm/telemetry/sdk";
import { NAMES_CHECKED_BY_SAMPLER } from "./generate-request.js";
import { inJobTrace } from "./job-trace.js";
import { RecentRequests } from "./recent-requests.js";
import { RemoteSampler } from "./remote-sampler.js";
import { modelRunnerService, runGeneration } from "./runner-service.js";
import { RunnerTelemetry } from "./runner-telemetry.js";

const config = readConfig(process.env, [
  "LLM_HOST",
  "LLM_PORT",
  "LLM_MODELS_DIR",
  "LLM_MODEL_ID",
  "LLM_MODEL_DIR",
  "LLM_MODEL_FILE",
  "LLM_EXECUTION_PROVIDERS",
  "LLM_MAX_BATCH_SIZE",
  "LLM_KV_CACHE_BYTES",
  "LLM_PREFIX_CACHE_BYTES",
  "LLM_PREFIX_CACHE_TTL_S",
  "LLM_PREFIX_CACHE_REDIS_DTYPE",
  "LLM_RUNNER_ID",
  "LLM_SAMPLER_URL",
  "LLM_SHUTDOWN_GRACE_MS",
  "LLM_REDIS_URL",
  "LLM_REDIS_CLUSTER",
  "LLM_REDIS_OUTAGE_WINDOW_MS",
  "LLM_QUEUE_LOCK_MS",
  "LLM_QUEUE_STALLED_INTERVAL_MS",
  "LLM_QUEUE_MAX_STALLED",
  "LLM_STREAM_TTL_MS",
  "LLM_STREAM_RESUME_TTL_MS",
  "LLM_OTLP_ENDPOINT",
  "LLM_METRICS_PORT",
]);

const recentRequests = new RecentRequests();
// First, so that every span and instrument below is live. /requests/<id>: recent per-token timings (`llm trace`).
const telemetry = await startTelemetry({
  service: "model-runner",
  entryUrl: import.meta.url,
  otlpEndpoint: config.LLM_OTLP_ENDPOINT,
  metricsHost: config.LLM_HOST,
  metricsPort: config.LLM_METRICS_PORT,
  routes: [{ prefix: REQUEST_TIMINGS_PATH, lookup: (id) => recentRequests.get(id) }],
  log: stderrLog,
});
const runnerTelemetry = new RunnerTelemetry(recentRequests);

const model = servedModel({
  modelsDir: config.LLM_MODELS_DIR,
  modelId: config.LLM_MODEL_ID,
  modelDir: config.LLM_MODEL_DIR,
  requiredFiles: ["config.json"],
});
const { vocabSize } = await readModelConfig(model.dir);
const remote = config.LLM_SAMPLER_URL
  ? new RemoteSampler(config.LLM_SAMPLER_URL, stderrLog, undefined, (id) => runnerTelemetry.contextOf(id))
  : undefined;
const library = remote ? undefined : new Sampler({ vocabSize });
// The proto's SamplingParams go to either sampler untouched (the library reads the same field names).
const sampler: EngineSampler<SamplingParams> = remote ?? inProcessSampler(library as Sampler);

const logger = {
  info: (msg: string) => stderrLog({ level: "info", msg }),
  warn: (msg: string) => stderrLog({ level: "warn", msg }),
};
// With Redis, prefix-cache blocks are shared by every runner: a Redis tier behind the memory tier.
const redis = config.LLM_REDIS_URL && redisTarget(config.LLM_REDIS_URL, config.LLM_REDIS_CLUSTER);
const sharedRedis = redis ? connectSharedTier(redis, logger) : undefined;
if (sharedRedis) await whenReady(sharedRedis); // else the first lookups miss while it connects
const sharedPrefixStore =
  sharedRedis &&
  new RedisBlockStore({
    redis: sharedRedis,
    ttlSeconds: config.LLM_PREFIX_CACHE_TTL_S,
    dtype: config.LLM_PREFIX_CACHE_REDIS_DTYPE,
    logger,
  });

const engine = await Engine.load({
  modelDir: model.dir,
  modelFile: config.LLM_MODEL_FILE,
  sampler,
  providers: config.LLM_EXECUTION_PROVIDERS,
  maxBatchSize: config.LLM_MAX_BATCH_SIZE,
  kvCacheBytes: config.LLM_KV_CACHE_BYTES,
  prefixCacheBytes: config.LLM_PREFIX_CACHE_BYTES,
  sharedPrefixStore,
  logger,
  observer: runnerTelemetry,
});
runnerTelemetry.watch(engine);

const runner = {
  engine,
  limits: { modelId: model.id, vocabSize, strategies: library?.registry ?? NAMES_CHECKED_BY_SAMPLER },
  log: stderrLog,
  telemetry: runnerTelemetry,
};
const service = modelRunnerService(runner);
const server = await startServer({
  name: "model-runner",
  host: config.LLM_HOST,
  port: config.LLM_PORT,
  services: [registration(ModelRunnerService, service)],
});
const info = engine.info();
const runnerId = config.LLM_RUNNER_ID ?? `${hostname()}-${process.pid}`;
const worker = redis
  ? await DispatchWorker.start({
      redis,
      model: { id: model.id, contextLength: info.contextLength, vocabSize },
      concurrency: info.maxBatchSize,
      lockMs: config.LLM_QUEUE_LOCK_MS,
      stalledIntervalMs: config.LLM_QUEUE_STALLED_INTERVAL_MS,
      maxStalled: config.LLM_QUEUE_MAX_STALLED,
      lifetimes: { streamTtlMs: config.LLM_STREAM_TTL_MS, resumeTtlMs: config.LLM_STREAM_RESUME_TTL_MS },
      outageWindowMs: config.LLM_REDIS_OUTAGE_WINDOW_MS,
      hasRoom: (request) => engine.hasRoomFor(request.promptTokenIds.length, request.maxTokens),
      run: (request, signal, traceContext) => inJobTrace(traceContext, runGeneration(request, signal, runner)),
      log: stderrLog,
      runnerId,
    })
  : undefined;
// KV-aware routing: gateways read which prefix blocks this runner holds in memory, and its load.
const hotBlocks =
  worker &&
  sharedRedis &&
  new HotBlockPublisher({
    redis: sharedRedis,
    keyBase: clusterKeys(model.id).hotBase,
    runnerId,
    keyModelId: info.modelId,
    blockSize: info.blockSize,
    hotKeys: (limit) => engine.hotPrefixKeys(limit),
    load: () => {
      const { running, waiting, maxBatchSize } = engine.info();
      return { running, waiting, maxBatchSize };
    },
    logger,
  });
await hotBlocks?.publish();
stderrLog({
  level: "info",
  msg: "model-runner ready",
  model: model.id,
  dir: model.dir,
  provider: info.provider,
  providerAttempts: engine.providerAttempts,
  sampler: remote ? `remote ${remote.address}` : "in-process",
  maxBatchSize: info.maxBatchSize,
  kvBytesLimit: info.kvBytesLimit,
  prefixCache: info.prefixCache.tier,
  ...(worker ? { runnerId } : {}),
});
installSignalHandlers(async () => {
  await hotBlocks?.stop(); // gateways stop routing here before the drain
  // In-flight streams and jobs finish first; the worker takes no new job meanwhile.
  await Promise.all([server.shutdown(config.LLM_SHUTDOWN_GRACE_MS), worker?.close()]);
  await engine.close();
  remote?.shutdown();
  sharedRedis?.disconnect();
  await telemetry.shutdown();
});
