// Embedder: an embedding model (encoder, or decoder with last-token pooling) served as llm.v1.EmbeddingService.
// Inputs from concurrent calls are coalesced into batches by length (LLM_EMBED_MAX_BATCH_TOKENS/_INPUTS).
import { readConfig } from "@llm/config";
import { Embedder, EncoderModel } from "@llm/embedder";
import { DEFAULT_EMBEDDING_PRESET, servedModel } from "@llm/model-pack";
import { EmbeddingService } from "@llm/proto";
import { installSignalHandlers, registration, startServer, stderrLog } from "@llm/rpc";
import { histogram, METRICS, observedGauge } from "@llm/telemetry";
import { startTelemetry } from "@llm/telemetry/sdk";
import { embeddingService } from "./embedding-service.js";

const config = readConfig(process.env, [
  "LLM_HOST",
  "LLM_PORT",
  "LLM_MODELS_DIR",
  "LLM_MODEL_ID",
  "LLM_MODEL_DIR",
  "LLM_EXECUTION_PROVIDERS",
  "LLM_EMBED_INTRA_OP_THREADS",
  "LLM_EMBED_MAX_BATCH_TOKENS",
  "LLM_EMBED_MAX_BATCH_INPUTS",
  "LLM_EMBED_MAX_INPUTS",
  "LLM_SHUTDOWN_GRACE_MS",
  "LLM_OTLP_ENDPOINT",
  "LLM_METRICS_PORT",
]);
const telemetry = await startTelemetry({
  service: "embedder",
  entryUrl: import.meta.url,
  otlpEndpoint: config.LLM_OTLP_ENDPOINT,
  metricsHost: config.LLM_HOST,
  metricsPort: config.LLM_METRICS_PORT,
  log: stderrLog,
});

const model = servedModel({
  modelsDir: config.LLM_MODELS_DIR,
  modelId: config.LLM_MODEL_ID ?? (config.LLM_MODEL_DIR ? undefined : DEFAULT_EMBEDDING_PRESET),
  modelDir: config.LLM_MODEL_DIR,
});
const logger = {
  info: (msg: string) => stderrLog({ level: "info", msg }),
  warn: (msg: string) => stderrLog({ level: "warn", msg }),
};
const encoder = await EncoderModel.load(model.id, model.dir, {
  providers: config.LLM_EXECUTION_PROVIDERS,
  intraOpThreads: config.LLM_EMBED_INTRA_OP_THREADS,
  logger,
});
const batchSize = histogram(METRICS.embeddingBatchSize);
const batchDuration = histogram(METRICS.embeddingBatchDuration);
const embedder = new Embedder(
  encoder,
  {
    maxBatchTokens: config.LLM_EMBED_MAX_BATCH_TOKENS,
    maxBatchInputs: config.LLM_EMBED_MAX_BATCH_INPUTS,
    maxInputs: config.LLM_EMBED_MAX_INPUTS,
  },
  (report) => {
    batchSize.record(report.inputs);
    batchDuration.record(report.seconds);
  },
);
observedGauge(METRICS.embeddingQueueDepth, () => embedder.waiting);

const server = await startServer({
  name: "embedder",
  host: config.LLM_HOST,
  port: config.LLM_PORT,
  services: [registration(EmbeddingService, embeddingService(embedder))],
});
stderrLog({ level: "info", msg: "embedder ready", ...encoder.info, dir: model.dir });
installSignalHandlers(async () => {
  await server.shutdown(config.LLM_SHUTDOWN_GRACE_MS);
  await encoder.close();
  await telemetry.shutdown();
});
