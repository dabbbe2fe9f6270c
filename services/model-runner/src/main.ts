// Model runner: the continuous-batching engine over ONNX Runtime, served as llm.v1.ModelRunnerService.
// Samples in-process by default; LLM_SAMPLER_URL makes it use a remote sampler service instead. With
// LLM_REDIS_URL set it also works its model's cluster queue (jobs go through the same generation path).
import { hostname } from "node:os";
import { Engine, type EngineSampler, engineSizing, inProcessSampler, readModelConfig } from "@llm/engine";
import { runService } from "@llm/launcher/host";
import { configuredModel } from "@llm/model-pack";
import { connectSharedTier, RedisBlockStore } from "@llm/prefix-cache";
import { ModelRunnerService, type SamplingParams } from "@llm/proto";
import { clusterKeys, DispatchWorker, HotBlockPublisher, whenReady } from "@llm/queue";
import { redisTarget } from "@llm/redis";
import { registration } from "@llm/rpc";
import { ConstraintCompiler, Sampler } from "@llm/sampling";
import { REQUEST_TIMINGS_PATH } from "@llm/telemetry";
import { constraintVocabulary } from "./constraint-vocabulary.js";
import { NAMES_CHECKED_BY_SAMPLER } from "./generate-request.js";
import { inJobTrace } from "./job-trace.js";
import { RecentRequests } from "./recent-requests.js";
import { RemoteSampler } from "./remote-sampler.js";
import { modelRunnerService, runGeneration } from "./runner-service.js";
import { RunnerTelemetry } from "./runner-telemetry.js";
import { SPECULATION_SETTINGS, speculationOf, stepRows } from "./speculation.js";

const recentRequests = new RecentRequests();

await runService({
  name: "model-runner",
  entryUrl: import.meta.url,
  config: [
    "LLM_MODELS_DIR",
    "LLM_MODEL_ID",
    "LLM_MODEL_DIR",
    "LLM_MODEL_FILE",
    "LLM_PREFIX_CACHE_TTL_S",
    "LLM_PREFIX_CACHE_REDIS_DTYPE",
    "LLM_RUNNER_ID",
    "LLM_SAMPLER_URL",
    "LLM_CONSTRAINT_COMPILE_TIMEOUT_MS",
    "LLM_SAMPLER_RING_DIR",
    "LLM_SAMPLER_PRUNE",
    "LLM_REDIS_URL",
    "LLM_REDIS_CLUSTER",
    "LLM_REDIS_OUTAGE_WINDOW_MS",
    "LLM_QUEUE_LOCK_MS",
    "LLM_QUEUE_STALLED_INTERVAL_MS",
    "LLM_QUEUE_MAX_STALLED",
    "LLM_STREAM_TTL_MS",
    "LLM_STREAM_RESUME_TTL_MS",
    ...SPECULATION_SETTINGS,
  ],
  // /requests/<id>: recent per-token timings (`llm trace`).
  metricsRoutes: [{ prefix: REQUEST_TIMINGS_PATH, lookup: (id) => recentRequests.get(id) }],
  async wire({ config, log }) {
    const runnerTelemetry = new RunnerTelemetry(recentRequests);
    // The ONNX file (LLM_MODEL_FILE) is resolved, and named if missing, by the engine.
    const model = configuredModel(config, ["config.json"]);
    const { vocabSize, eosTokenIds } = await readModelConfig(model.dir);
    const vocabulary = await constraintVocabulary(model.dir, vocabSize, eosTokenIds);
    const sizing = engineSizing(process.env);
    const remote = config.LLM_SAMPLER_URL
      ? new RemoteSampler(
          config.LLM_SAMPLER_URL,
          log,
          undefined,
          (id) => runnerTelemetry.contextOf(id),
          {
            ringDir: config.LLM_SAMPLER_RING_DIR,
            // A full step of float32 rows; a speculative step sends one more row per proposal.
            ringSlotBytes: stepRows(sizing.maxBatchSize, config) * vocabSize * 4,
            prune: config.LLM_SAMPLER_PRUNE,
          },
          vocabulary,
        )
      : undefined;
    const constraints = remote
      ? undefined
      : await ConstraintCompiler.create(vocabulary, { compileTimeoutMs: config.LLM_CONSTRAINT_COMPILE_TIMEOUT_MS });
    const library = remote ? undefined : new Sampler({ vocabSize, constraints });
    // The proto's SamplingParams go to either sampler untouched (the library reads the same field names).
    const sampler: EngineSampler<SamplingParams> = remote ?? inProcessSampler(library as Sampler);

    // With Redis, prefix-cache blocks are shared by every runner: a Redis tier behind the memory tier.
    const redis = config.LLM_REDIS_URL && redisTarget(config.LLM_REDIS_URL, config.LLM_REDIS_CLUSTER);
    const sharedRedis = redis ? connectSharedTier(redis, log) : undefined;
    if (sharedRedis) await whenReady(sharedRedis); // else the first lookups miss while it connects
    const sharedPrefixStore =
      sharedRedis &&
      new RedisBlockStore({
        redis: sharedRedis,
        ttlSeconds: config.LLM_PREFIX_CACHE_TTL_S,
        dtype: config.LLM_PREFIX_CACHE_REDIS_DTYPE,
        log,
      });

    const engine = await Engine.load({
      modelDir: model.dir,
      modelFile: config.LLM_MODEL_FILE,
      sampler,
      ...sizing,
      sharedPrefixStore,
      log,
      observer: runnerTelemetry,
      speculation: await speculationOf(config, sizing, vocabSize, log),
    });
    runnerTelemetry.watch(engine);

    const runner = {
      engine,
      limits: { modelId: model.id, vocabSize, strategies: library?.registry ?? NAMES_CHECKED_BY_SAMPLER },
      log,
      telemetry: runnerTelemetry,
    };
    const info = engine.info();
    const runnerId = config.LLM_RUNNER_ID ?? `${hostname()}-${process.pid}`;
    let worker: DispatchWorker | undefined;
    let hotBlocks: HotBlockPublisher | undefined;
    return {
      services: [registration(ModelRunnerService, modelRunnerService(runner))],
      ready: {
        model: model.id,
        dir: model.dir,
        provider: info.provider,
        providerAttempts: engine.providerAttempts,
        sampler: remote ? `remote ${remote.address}` : "in-process",
        speculative: config.LLM_SPECULATIVE,
        draftModel: config.LLM_DRAFT_MODEL_DIR,
        maxBatchSize: info.maxBatchSize,
        kvBytesLimit: info.kvBytesLimit,
        prefixCache: info.prefixCache.tier,
      },
      // Cluster mode: take jobs once the gRPC side serves too.
      async started() {
        if (!redis) return {};
        worker = await DispatchWorker.start({
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
          log,
          runnerId,
        });
        // KV-aware routing: gateways read which prefix blocks this runner holds in memory, and its load.
        hotBlocks =
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
            log,
          });
        await hotBlocks?.publish();
        return { runnerId };
      },
      beforeDrain: () => hotBlocks?.stop(), // gateways stop routing here before the drain
      // In-flight streams and jobs finish first; the worker takes no new job meanwhile.
      drainAlongside: async () => worker?.close(),
      async close() {
        await engine.close();
        remote?.shutdown();
        constraints?.close();
        sharedRedis?.disconnect();
      },
    };
  },
});
