// Gateway: the public llm.v1.GenerationService (gRPC) and the OpenAI-compatible HTTP API over the tokenizer,
// model-runner and detokenizer services. With LLM_REDIS_URL set (cluster mode) requests go to the model's
// queue in Redis instead of one runner, and the runners' announcements say which models exist.
import { runService } from "@llm/launcher/host";
import { DetokenizerService, EmbeddingService, GenerationService, TokenizerService } from "@llm/proto";
import { createClient, registration } from "@llm/rpc";
import { ApiKeys } from "./api-keys.js";
import { dispatchMode } from "./dispatch-mode.js";
import { gatewayEmbeddingService } from "./embedding-service.js";
import { EmbeddingModels, embedderBackend } from "./embeddings.js";
import { generationService } from "./generation-service.js";
import { createHttpApi } from "./http/http-api.js";
import { type ListeningHttp, listenHttp } from "./http/listen.js";
import { InflightRequests } from "./inflight.js";

function required(name: string, value: string | undefined): string {
  if (value === undefined)
    throw new Error(`${name} is not set: the gateway needs the address (host:port) of that service`);
  return value;
}

await runService({
  name: "gateway",
  entryUrl: import.meta.url,
  config: [
    "LLM_TOKENIZER_URL",
    "LLM_RUNNER_URL",
    "LLM_DETOKENIZER_URL",
    "LLM_EMBEDDER_URL",
    "LLM_MAX_INPUT_BYTES",
    "LLM_MAX_INFLIGHT",
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
    "LLM_TRACE_CONTENT",
  ],
  async wire({ config, log }) {
    const addresses = {
      tokenizer: required("LLM_TOKENIZER_URL", config.LLM_TOKENIZER_URL),
      detokenizer: required("LLM_DETOKENIZER_URL", config.LLM_DETOKENIZER_URL),
    };
    const upstreams = {
      tokenizer: createClient(TokenizerService, addresses.tokenizer),
      detokenizer: createClient(DetokenizerService, addresses.detokenizer),
    };
    const mode = await dispatchMode(config, log, () => required("LLM_RUNNER_URL", config.LLM_RUNNER_URL));
    const generation = {
      upstreams,
      dispatch: mode.dispatch,
      models: mode.models,
      inflight: new InflightRequests(config.LLM_MAX_INFLIGHT),
      limits: { maxInputBytes: config.LLM_MAX_INPUT_BYTES },
      traceContent: config.LLM_TRACE_CONTENT,
      log,
    };
    // Cluster mode: embeddings go on their model's queue, to any embedder that announced it.
    if (mode.embeddings && config.LLM_EMBEDDER_URL) {
      log({ level: "warn", msg: "LLM_EMBEDDER_URL is ignored in cluster mode: embeddings go through the queue" });
    }
    const embedder =
      !mode.embeddings && config.LLM_EMBEDDER_URL ? createClient(EmbeddingService, config.LLM_EMBEDDER_URL) : undefined;
    const embeddings = new EmbeddingModels(mode.embeddings ?? (embedder && embedderBackend(embedder)), mode.models);
    mode.models.knowEmbeddingModels(() => embeddings.ids());
    // One key set and one per-key count for both APIs, so a key's limit holds across gRPC and HTTP together.
    const keys = new ApiKeys(config.LLM_API_KEYS, config.LLM_API_KEY_MAX_CONCURRENT);
    let http: ListeningHttp | undefined;
    return {
      services: [
        registration(GenerationService, generationService(generation, keys)),
        registration(EmbeddingService, gatewayEmbeddingService(embeddings, keys)),
      ],
      // The HTTP API listens after the gRPC server, whose `listening` line launchers take as the address.
      async started() {
        http = await listenHttp(
          createHttpApi({
            generation,
            embeddings,
            keys,
            limits: {
              maxBodyBytes: config.LLM_HTTP_MAX_BODY_BYTES,
              requestTimeoutMs: config.LLM_HTTP_REQUEST_TIMEOUT_MS,
              stallTimeoutMs: config.LLM_HTTP_STALL_TIMEOUT_MS,
            },
            upstreamAddresses: {
              tokenizer: addresses.tokenizer,
              ...(mode.runnerAddress ? { runner: mode.runnerAddress } : {}),
              detokenizer: addresses.detokenizer,
              ...(embedder ? { embedder: config.LLM_EMBEDDER_URL } : {}),
            },
          }),
          "gateway-http",
          config.LLM_HOST,
          config.LLM_HTTP_PORT,
        );
        return {
          http: http.url,
          apiKeys: keys.enabled ? "required" : "off (local mode)",
          tokenizer: config.LLM_TOKENIZER_URL,
          runner: mode.runnerAddress ?? "cluster (Redis queue)",
          detokenizer: config.LLM_DETOKENIZER_URL,
          embedder: mode.embeddings ? "cluster (Redis queue)" : (config.LLM_EMBEDDER_URL ?? "none"),
        };
      },
      beforeDrain: () => mode.detach(), // streams cut at the end of the drain stay resumable on another gateway
      // Both front doors stop accepting and let streams finish, before the upstream channels close.
      drainAlongside: async (graceMs) => http?.shutdown(graceMs),
      async close() {
        for (const client of Object.values(upstreams)) client.close();
        embedder?.close();
        await mode.close();
      },
    };
  },
});
