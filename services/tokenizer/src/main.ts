// Tokenizer service: text ⇄ token ids and chat templates for the served model(s), over gRPC.
import { readFile } from "node:fs/promises";
import { readConfig } from "@llm/config";
import { jsonLog } from "@llm/log";
import { servedModel } from "@llm/model-pack";
import { TokenizerService } from "@llm/proto";
import { installSignalHandlers, registration, startServer } from "@llm/rpc";
import { startTelemetry } from "@llm/telemetry/sdk";
import { TokenizerCatalog } from "@llm/tokenizer";
import { tokenizerService } from "./tokenizer-service.js";

const config = readConfig(process.env, [
  "LLM_LOG_LEVEL",
  "LLM_HOST",
  "LLM_PORT",
  "LLM_MODELS_DIR",
  "LLM_MODEL_ID",
  "LLM_MODEL_DIR",
  "LLM_MAX_INPUT_BYTES",
  "LLM_SPECIAL_TOKEN_TEXT",
  "LLM_CHAT_TEMPLATE",
  "LLM_SHUTDOWN_GRACE_MS",
  "LLM_OTLP_ENDPOINT",
  "LLM_METRICS_PORT",
]);
const log = jsonLog(config.LLM_LOG_LEVEL);
const telemetry = await startTelemetry({
  service: "tokenizer",
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
const catalog = new TokenizerCatalog({
  defaultModel: model,
  modelsDir: config.LLM_MODELS_DIR,
  tokenizer: {
    maxInputBytes: config.LLM_MAX_INPUT_BYTES,
    chatTemplate: config.LLM_CHAT_TEMPLATE === undefined ? undefined : await readFile(config.LLM_CHAT_TEMPLATE, "utf8"),
  },
});
await catalog.preload();

const server = await startServer({
  log,
  name: "tokenizer",
  host: config.LLM_HOST,
  port: config.LLM_PORT,
  services: [
    registration(TokenizerService, tokenizerService(catalog, { specialTokenText: config.LLM_SPECIAL_TOKEN_TEXT })),
  ],
});
log({ level: "info", msg: "tokenizer ready", model: model.id, dir: model.dir });
installSignalHandlers(async () => {
  await server.shutdown(config.LLM_SHUTDOWN_GRACE_MS);
  await telemetry.shutdown();
}, log);
