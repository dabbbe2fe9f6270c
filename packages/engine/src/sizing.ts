// How big an engine is: the runner's LLM_* settings, whose defaults live only in the configuration registry.
// Tests and benches size their engines here too, so every engine starts from what an operator gets by default.
import { type Env, readConfig } from "@llm/config";
import type { ExecutionProvider } from "./session.js";

export interface EngineSizing {
  /** Tried in order; the first that starts is used. */
  providers: readonly ExecutionProvider[];
  maxBatchSize: number;
  /** Tokens one step may compute (decode rows + prefill chunk tokens); bounds a step's latency. */
  maxStepTokens: number;
  /**
   * Longest piece of a prompt prefilled in one step while other sequences decode, so running streams keep
   * flowing. With none decoding, a prompt is prefilled whole (within `maxStepTokens`): one forward, sooner TTFT.
   */
  prefillChunkTokens: number;
  /** KV memory bound: requests wait for room instead of exceeding it. */
  kvCacheBytes: number;
  /** The memory tier of the prefix cache; 0 disables it. */
  prefixCacheBytes: number;
}

/** The sizing `env` sets (process.env in a runner; `{}` for the registry's defaults). */
export function engineSizing(env: Env): EngineSizing {
  const config = readConfig(env, [
    "LLM_EXECUTION_PROVIDERS",
    "LLM_MAX_BATCH_SIZE",
    "LLM_MAX_STEP_TOKENS",
    "LLM_PREFILL_CHUNK_TOKENS",
    "LLM_KV_CACHE_BYTES",
    "LLM_PREFIX_CACHE_BYTES",
  ]);
  return {
    providers: config.LLM_EXECUTION_PROVIDERS,
    maxBatchSize: config.LLM_MAX_BATCH_SIZE,
    maxStepTokens: config.LLM_MAX_STEP_TOKENS,
    prefillChunkTokens: config.LLM_PREFILL_CHUNK_TOKENS,
    kvCacheBytes: config.LLM_KV_CACHE_BYTES,
    prefixCacheBytes: config.LLM_PREFIX_CACHE_BYTES,
  };
}
