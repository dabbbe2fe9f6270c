// Where the gateway's requests go. Local mode: the one runner at LLM_RUNNER_URL. Cluster mode (LLM_REDIS_URL):
// the model queues and token streams in Redis, with the models the runners announced; embedding requests go on
// their embedding model's queue too, to the embedders that announced it.
import type { Config } from "@llm/config";
import type { Log } from "@llm/log";
import { create, EmbedRequestSchema, ModelRunnerService } from "@llm/proto";
import { ClusterDispatcher } from "@llm/queue";
import { redisTarget } from "@llm/redis";
import { createClient } from "@llm/rpc";
import { injectQueuedContext } from "@llm/telemetry";
import { clusterDispatch, type Dispatch, localDispatch } from "./dispatch.js";
import { type EmbeddingBackend, embedTokensBound } from "./embeddings.js";
import { runnerModels, ServedModels } from "./served-models.js";

type ModeConfig = Config<
  | "LLM_REDIS_URL"
  | "LLM_REDIS_CLUSTER"
  | "LLM_REDIS_OUTAGE_WINDOW_MS"
  | "LLM_MAX_QUEUE_DEPTH"
  | "LLM_MAX_QUEUE_TOKENS"
  | "LLM_QUEUE_RETRY_AFTER_MS"
  | "LLM_QUEUE_KEEP_FINISHED"
  | "LLM_STREAM_TTL_MS"
  | "LLM_KV_AWARE_ROUTING"
>;

export interface DispatchMode {
  dispatch: Dispatch;
  models: ServedModels;
  /** Cluster mode: the embedding models' queues. Local mode: undefined (the embedder at LLM_EMBEDDER_URL, if set). */
  embeddings: EmbeddingBackend | undefined;
  /** The runner's address in local mode; undefined in cluster mode. */
  runnerAddress: string | undefined;
  /** Stops following streams without cancelling them (cluster mode: another gateway may resume them). */
  detach(): void;
  close(): Promise<void>;
}

/** `runnerAddress` is asked for only in local mode (it throws when LLM_RUNNER_URL is unset). */
export async function dispatchMode(config: ModeConfig, log: Log, runnerAddress: () => string): Promise<DispatchMode> {
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
      log,
    });
    return {
      dispatch: clusterDispatch(cluster),
      models: new ServedModels(() => cluster.models()),
      embeddings: {
        models: () => cluster.embeddingModels(),
        // The job carries the trace context, so the embedder's span joins the gateway's trace.
        embed: (request, info, ctx) =>
          cluster.embed(create(EmbedRequestSchema, request), embedTokensBound(request, info), ctx.deadline, {
            signal: ctx.signal,
            traceContext: injectQueuedContext(),
          }),
      },
      runnerAddress: undefined,
      detach: () => cluster.detach(),
      close: () => cluster.close(),
    };
  }
  const address = runnerAddress();
  const runner = createClient(ModelRunnerService, address);
  return {
    dispatch: localDispatch(runner),
    models: new ServedModels(runnerModels(runner)),
    embeddings: undefined,
    runnerAddress: address,
    detach: () => {},
    close: async () => runner.close(),
  };
}
