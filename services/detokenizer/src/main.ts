// Detokenizer service: streams of token ids to UTF-8-safe text deltas with stop sequences, over gRPC.
import { readConfig } from "@llm/config";
import { jsonLog } from "@llm/log";
import { servedModel } from "@llm/model-pack";
import { DetokenizerService } from "@llm/proto";
import { installSignalHandlers, registration, startServer } from "@llm/rpc";
import { startTelemetry } from "@llm/telemetry/sdk";
import { TokenizerCatalog } from "@llm/tokenizer";
import { detokenizerService } from "./detokenizer-service.js";

const config = readConfig(process.env, [
  "LLM_LOG_LEVEL",
  "LLM_HOST",
  "LLM_PORT",
  "LLM_MODELS_DIR",
  "LLM_MODEL_ID",
  "LLM_MODEL_DIR",
  "LLM_SHUTDOWN_GRACE_MS",
  "LLM_OTLP_ENDPOINT",
  "LLM_METRICS_PORT",
]);
const log = jsonLog(config.LLM_LOG_LEVEL);
const telemetry = await startTelemetry({
  service: "detokenizer",
  entryUrl: import.meta.url,
  otlpEndpoint: config.LLM_OTLP_ENDPOINT,
  metricsHost: config.LLM_HOST,
  metricsPort: config.LLM_METRICS_PORT,
  log,
});

const model = servedModel({
  modelsDir: config.LLM_MODELS_DIR,
  modelId: config.LLM_MODEL_ID,
  modelDir: config.LLM_MODEL_DIR,
  requiredFiles: ["tokenizer.json"],
});
const catalog = new TokenizerCatalog({ defaultModel: model, modelsDir: config.LLM_MODELS_DIR });
await catalog.preload();

const server = await startServer({
  log,
  name: "detokenizer",
  host: config.LLM_HOST,
  port: config.LLM_PORT,
  services: [registration(DetokenizerService, detokenizerService(catalog))],
});
log({ level: "info", msg: "detokenizer ready", model: model.id, dir: model.dir });
installSignalHandlers(async () => {
  await server.shutdown(config.LLM_SHUTDOWN_GRACE_MS);
  await telemetry.shutdown();
}, log);
