// Gateway: the public llm.v1.GenerationService (gRPC) and the OpenAI-compatible HTTP API over the tokenizer,
// model-runner and detokenizer services. With LLM_REDIS_URL set (cluster mode) requests go to the model's
// queue in Redis instead of one runner, and the runners' announcements say which models exist.
import { readConfig } from "@llm/config";
import { redisTarget } from "@llm/prefix-cache";
import {
  DetokenizerService,
  EmbeddingService,
  GenerationService,
  ModelRunnerService,
  TokenizerService,
} from "@llm/proto";
import { ClusterDispatcher } from "@llm/queue";
import { createClient, installSignalHandlers, registration, startServer, stderrLog } from "@llm/rpc";
import { startTelemetry } from "@llm/telemetry/sdk";
import { ApiKeys } from "./api-keys.js";
import { clusterDispatch, localDispatch } from "./dispatch.js";
import { gatewayEmbeddingService } from "./embedding-service.js";
import { EmbeddingModels } from "./embeddings.js";
import { generationService } from "./generation-service.js";
import { createHttpApi } from "./http/http-api.js";
import { listenHttp } from "./http/listen.js";
import { TokenTexts } from "./http/token-texts.js";
import { InflightRequests } from "./inflight.js";
import { runnerModels, ServedModels } from "./served-models.js";

const config = readConfig(process.env, [
  "LLM_HOST",
  "LLM_PORT",
  "LLM_TOKENIZER_URL",
  "LLM_RUNNER_URL",
  "LLM_DETOKENIZER_URL",
  "LLM_EMBEDDER_URL",
  "LLM_MAX_INPUT_BYTES",
  "LLM_MAX_INFLIGHT",
  "LLM_SHUTDOWN_GRACE_MS",
  "LLM_REDIS_URL",
  "LLM_REDIS_CLUSTER",
  "LLM_REDIS_OUTAGE_WINDOW_MS",
  "LLM_MAX_QUEUE_DEPTH",
  "LLM_MAX_QUEUE_TOKENS",
  "LLM_QUEUE_RETRY_AFTER_MS",
  "LLM_QUEUE_KEEP_FINISHED",
  "LLM_STREAM_TTL_MS",
  "LLM_KV_AWARE_ROUTING",
  "LLM_HTTP_PORT",
  "LLM_HTTP_MAX_BODY_BYTES",
  "LLM_HTTP_REQUEST_TIMEOUT_MS",
  "LLM_HTTP_STALL_TIMEOUT_MS",
  "LLM_API_KEYS",
  "LLM_API_KEY_MAX_CONCURRENT",
  "LLM_OTLP_ENDPOINT",
  "LLM_METRICS_PORT",
  "LLM_TRACE_CONTENT",
]);
const telemetry = await startTelemetry({
  service: "gateway",
  entryUrl: import.meta.url,
  otlpEndpoint: config.LLM_OTLP_ENDPOINT,
  metricsHost: config.LLM_HOST,
  metricsPort: config.LLM_METRICS_PORT,
  log: stderrLog,
});

function required(name: string, value: string | undefined): string {
  if (value === undefined)
    throw new Error(`${name} is not set: the gateway needs the address (host:port) of that service`);
  return value;
}

const upstreams = {
  tokenizer: createClient(TokenizerService, required("LLM_TOKENIZER_URL", config.LLM_TOKENIZER_URL)),
  detokenizer: createClient(DetokenizerService, required("LLM_DETOKENIZER_URL", config.LLM_DETOKENIZER_URL)),
};
const mode = await dispatchMode();
const generation = {
  upstreams,
  dispatch: mode.dispatch,
  models: mode.models,
  inflight: new InflightRequests(config.LLM_MAX_INFLIGHT),
  limits: { maxInputBytes: config.LLM_MAX_INPUT_BYTES },
  traceContent: config.LLM_TRACE_CONTENT,
  log: stderrLog,
};
const embedder = config.LLM_EMBEDDER_URL ? createClient(EmbeddingService, config.LLM_EMBEDDER_URL) : undefined;
const embeddings = new EmbeddingModels(embedder, mode.models);
mode.models.knowEmbeddingModels(() => embeddings.ids());
// One key set and one per-key count for both APIs, so a key's limit holds across gRPC and HTTP together.
const keys = new ApiKeys(config.LLM_API_KEYS, config.LLM_API_KEY_MAX_CONCURRENT);

const server = await startServer({
  name: "gateway",
  host: config.LLM_HOST,
  port: config.LLM_PORT,
  services: [
    registration(GenerationService, generationService(generation, keys)),
    registration(EmbeddingService, gatewayEmbeddingService(embeddings, keys)),
  ],
});
const http = await listenHttp(
  createHttpApi({
    generation,
    embeddings,
    keys,
    tokenTexts: new TokenTexts(upstreams.tokenizer),
    limits: {
      maxBodyBytes: config.LLM_HTTP_MAX_BODY_BYTES,
      requestTimeoutMs: config.LLM_HTTP_REQUEST_TIMEOUT_MS,
      stallTimeoutMs: config.LLM_HTTP_STALL_TIMEOUT_MS,
    },
    upstreamAddresses: {
      tokenizer: required("LLM_TOKENIZER_URL", config.LLM_TOKENIZER_URL),
      ...(config.LLM_REDIS_URL ? {} : { runner: required("LLM_RUNNER_URL", config.LLM_RUNNER_URL) }),
      detokenizer: required("LLM_DETOKENIZER_URL", config.LLM_DETOKENIZER_URL),
      ...(config.LLM_EMBEDDER_URL ? { embedder: config.LLM_EMBEDDER_URL } : {}),
    },
  }),
  "gateway-http",
  config.LLM_HOST,
  config.LLM_HTTP_PORT,
);
stderrLog({
  level: "info",
  msg: "gateway ready",
  http: http.url,
  apiKeys: keys.enabled ? "required" : "off (local mode)",
  tokenizer: config.LLM_TOKENIZER_URL,
  runner: config.LLM_REDIS_URL ? "cluster (Redis queue)" : config.LLM_RUNNER_URL,
  detokenizer: config.LLM_DETOKENIZER_URL,
  embedder: config.LLM_EMBEDDER_URL ?? "none",
});
installSignalHandlers(async () => {
  mode.detach(); // streams cut at the end of the drain stay resumable on another gateway (cluster mode)
  // Both front doors stop accepting and let streams finish, before the upstream channels close.
  await Promise.all([server.shutdown(config.LLM_SHUTDOWN_GRACE_MS), http.shutdown(config.LLM_SHUTDOWN_GRACE_MS)]);
  for (const client of Object.values(upstreams)) client.close();
  embedder?.close();
  await mode.close();
  await telemetry.shutdown();
});

/** Local mode: the one runner at LLM_RUNNER_URL. Cluster mode: the queues and streams in Redis. */
async function dispatchMode() {
  if (config.LLM_REDIS_URL) {
    const cluster = await ClusterDispatcher.connect({
      redis: redisTarget(config.LLM_REDIS_URL, config.LLM_REDIS_CLUSTER),
      maxWaiting: config.LLM_MAX_QUEUE_DEPTH,
      maxWaitingTokens: config.LLM_MAX_QUEUE_TOKENS,
      retryAfterMs: config.LLM_QUEUE_RETRY_AFTER_MS,
      streamTtlMs: config.LLM_STREAM_TTL_MS,
      keepFinishedJobs: config.LLM_QUEUE_KEEP_FINISHED,
      kvAwareRouting: config.LLM_KV_AWARE_ROUTING,
      outageWindowMs: config.LLM_REDIS_OUTAGE_WINDOW_MS,
    });
    return {
      dispatch: clusterDispatch(cluster),
      models: new ServedModels(() => cluster.models()),
      detach: () => cluster.detach(),
      close: () => cluster.close(),
    };
  }
  const runner = createClient(ModelRunnerService, required("LLM_RUNNER_URL", config.LLM_RUNNER_URL));
  return {
    dispatch: localDispatch(runner),
    models: new ServedModels(runnerModels(runner)),
    detach: () => {},
    close: async () => runner.close(),
  };
}
