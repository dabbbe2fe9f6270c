// Embedder: an embedding model (encoder, or decoder with last-token pooling) served as llm.v1.EmbeddingService.
// Inputs from concurrent calls are coalesced into batches by length (LLM_EMBED_MAX_BATCH_TOKENS/_INPUTS).
import { Embedder, EncoderModel } from "@llm/embedder";
import { runService } from "@llm/launcher/host";
import { DEFAULT_EMBEDDING_PRESET, servedModel } from "@llm/model-pack";
import { EmbeddingService } from "@llm/proto";
import { registration } from "@llm/rpc";
import { histogram, METRICS, observedGauge } from "@llm/telemetry";
import { embeddingService } from "./embedding-service.js";

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
    return {
      services: [registration(EmbeddingService, embeddingService(embedder))],
      ready: { ...encoder.info, dir: model.dir },
      close: () => encoder.close(),
    };
  },
});
