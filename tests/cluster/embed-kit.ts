// Embedders in cluster mode for tests: real embedder processes on embed-tiny, working its queue on a real Redis.
import { ensureModel } from "@llm/model-pack";
import { type RunningService, startService } from "@llm/testing";
import { FAST_TAKEOVER } from "./cluster-kit.js";

export const EMBED_MODEL = "embed-tiny";

/**
 * Fast takeover of a dead embedder's jobs, with a lock long enough that a live one never loses it on a loaded box
 * (onnxruntime-node runs a batch on the event loop's thread, and its jobs saturate the CPU for seconds), and one
 * ONNX Runtime thread, so the rest of the test still runs.
 */
export const EMBEDDER_ENV = { ...FAST_TAKEOVER, LLM_QUEUE_LOCK_MS: "5000", LLM_EMBED_INTRA_OP_THREADS: "1" };

/** An embedder on `redisUrl` (cluster mode) with EMBEDDER_ENV and `env`. */
export async function startClusterEmbedder(
  redisUrl: string,
  env: Record<string, string> = {},
  name = "embedder",
): Promise<RunningService> {
  const model = await ensureModel(EMBED_MODEL);
  return startService("services/embedder/src/main.ts", {
    name,
    env: { LLM_MODEL_DIR: model.dir, LLM_MODEL_ID: EMBED_MODEL, LLM_REDIS_URL: redisUrl, ...EMBEDDER_ENV, ...env },
    timeoutMs: 60_000,
  });
}
