// Embedder: an embedding model (encoder, or decoder with last-token pooling) served as llm.v1.EmbeddingService.
// Inputs from concurrent calls are coalesced into batches by length (LLM_EMBED_MAX_BATCH_TOKENS/_INPUTS). In cluster
// mode (LLM_REDIS_URL) it also works its model's queue, LLM_EMBED_QUEUE_CONCURRENCY requests at a time.
import { Embedder, EncoderModel } from "@llm/embedder";
import { runService } from "@llm/launcher/host";
import { DEFAULT_EMBEDDING_PRESET, servedModel } from "@llm/model-pack";
import { create, EmbeddingService, InfoResponseSchema } from "@llm/proto";
import { clusterKeys, EmbedWorker } from "@llm/queue";
import { redisTarget } from "@llm/redis";
import { registration } from "@llm/rpc";
import { histogram, inQueuedTrace, METRICS, observedGauge } from "@llm/telemetry";
import { describeEmbedder, embeddingService, embedRequests } from "./embedding-service.js";

await runService({
  name: "embedder",
  entryUrl: import.meta.url,
  config: [
    "LLM_MODELS_DIR",
    "LLM_MODEL_ID",
    "LLM_MODEL_DIR",
    "LLM_EXECUTION_PROVIDERS",
    "LLM_EMBED_INTRA_OP_THREADS",
    "LLM_EMBED_MAX_BATCH_TOKENS",
    "LLM_EMBED_MAX_BATCH_INPUTS",
    "LLM_EMBED_MAX_INPUTS",
    "LLM_REDIS_URL",
    "LLM_REDIS_CLUSTER",
    "LLM_REDIS_OUTAGE_WINDOW_MS",
    "LLM_EMBED_QUEUE_CONCURRENCY",
    "LLM_QUEUE_LOCK_MS",
    "LLM_QUEUE_STALLED_INTERVAL_MS",
    "LLM_QUEUE_MAX_STALLED",
    "LLM_STREAM_TTL_MS",
    "LLM_STREAM_RESUME_TTL_MS",
  ],
  async wire({ config, log }) {
    const model = servedModel({
      modelsDir: config.LLM_MODELS_DIR,
      modelId: config.LLM_MODEL_ID ?? (config.LLM_MODEL_DIR ? undefined : DEFAULT_EMBEDDING_PRESET),
      modelDir: config.LLM_MODEL_DIR,
    });
    const encoder = await EncoderModel.load(model.id, model.dir, {
      providers: config.LLM_EXECUTION_PROVIDERS,
      intraOpThreads: config.LLM_EMBED_INTRA_OP_THREADS,
      log,
    });
    const batchSize = histogram(METRICS.embeddingBatchSize);
    const batchDuration = histogram(METRICS.embeddingBatchDuration);
    const limits = {
      maxBatchTokens: config.LLM_EMBED_MAX_BATCH_TOKENS,
      maxBatchInputs: config.LLM_EMBED_MAX_BATCH_INPUTS,
      maxInputs: config.LLM_EMBED_MAX_INPUTS,
    };
    const embedder = new Embedder(encoder, limits, (report) => {
      batchSize.record(report.inputs);
      batchDuration.record(report.seconds);
    });
    observedGauge(METRICS.embeddingQueueDepth, () => embedder.waiting);
    const embed = embedRequests(embedder);
    let worker: EmbedWorker | undefined;
    return {
      services: [registration(EmbeddingService, embeddingService(embedder, embed))],
      ready: { ...encoder.info, dir: model.dir },
      // Cluster mode: take jobs once the gRPC side serves too.
      async started() {
        if (!config.LLM_REDIS_URL) return {};
        worker = await EmbedWorker.start({
          redis: redisTarget(config.LLM_REDIS_URL, config.LLM_REDIS_CLUSTER),
          model: create(InfoResponseSchema, describeEmbedder(embedder)),
          concurrency: config.LLM_EMBED_QUEUE_CONCURRENCY,
          lockMs: config.LLM_QUEUE_LOCK_MS,
          stalledIntervalMs: config.LLM_QUEUE_STALLED_INTERVAL_MS,
          maxStalled: config.LLM_QUEUE_MAX_STALLED,
          streamTtlMs: config.LLM_STREAM_TTL_MS,
          resultTtlMs: config.LLM_STREAM_RESUME_TTL_MS,
          outageWindowMs: config.LLM_REDIS_OUTAGE_WINDOW_MS,
          run: (request, signal, traceContext) => inQueuedTrace(traceContext, () => embed(request, signal)),
          log,
        });
        return { queue: clusterKeys(model.id).queueName };
      },
      // Jobs in flight finish first; the worker takes no new job meanwhile.
      drainAlongside: async () => worker?.close(),
      close: () => encoder.close(),
    };
  },
});
