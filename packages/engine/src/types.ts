// The engine's request and event shapes (mirroring llm.v1 ModelRunnerService, so the gRPC service maps 1:1).
import type { LlmError } from "@llm/errors";
import type { PrefixCacheStats } from "@llm/prefix-cache";
import type { TopLogprob } from "./sampler.js";
import type { ExecutionProvider } from "./session.js";
import type { SpeculativeMode } from "./speculation/state.js";

export interface GenerateRequest<P> {
  /** Unique among the engine's active requests. */
  requestId: string;
  promptIds: readonly number[];
  /**
   * Tokens of this request already generated and delivered elsewhere (a runner taking a cluster job over): they
   * are prefilled after the prompt, the sampler counts them as output (penalties, draw index), and generation
   * goes on at index `outputIds.length`, so the whole output is one continuation. `maxTokens` includes them.
   */
  outputIds?: readonly number[];
  maxTokens: number;
  /** Passed to the sampler untouched. */
  sampling: P;
  stopTokenIds?: readonly number[];
  /** Keep generating past the model's end-of-sequence token. */
  ignoreEos?: boolean;
  /** Tenant isolation of the prefix cache. */
  cacheSalt?: string;
  /** Speculative decoding for this request; unset: the engine's default mode. */
  speculative?: SpeculativeMode;
  /** Aborting frees the request's batch slot within one engine step. */
  signal?: AbortSignal;
}

export interface TokenTiming {
  /** The engine step (forward passes + sampling) that produced the token. */
  stepMs: number;
  sincePreviousMs: number;
  sinceStartMs: number;
  /** First token only: time spent waiting for a slot. */
  queueMs?: number;
  /** First token only: time from admission to the end of the prompt's prefill. */
  prefillMs?: number;
}

export interface TokenEvent {
  type: "token";
  index: number;
  tokenId: number;
  /** Present when the sampling params ask for logprobs. */
  logprob?: number;
  topLogprobs?: TopLogprob[];
  timing: TokenTiming;
  /** First token only: the final usage's cachedPromptTokens, for a caller that stops reading early. */
  cachedPromptTokens?: number;
}

export type FinishReason = "eos" | "length" | "stop" | "cancelled" | "error";

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  /** Prompt tokens whose K/V came from the prefix cache. */
  cachedPromptTokens: number;
  /** Speculating requests: tokens proposed, and how many of them verification accepted. */
  proposedTokens?: number;
  acceptedTokens?: number;
}

export interface FinalEvent {
  type: "final";
  finishReason: FinishReason;
  usage: Usage;
  /** Set when finishReason is "error". */
  error?: LlmError;
}

export type GenerationEvent = TokenEvent | FinalEvent;

export interface EngineInfo {
  modelId: string;
  contextLength: number;
  blockSize: number;
  vocabSize: number;
  provider: ExecutionProvider;
  maxBatchSize: number;
  /** Requests holding a batch slot (prefilling or decoding). */
  running: number;
  waiting: number;
  /** KV bytes reserved by admitted requests (prompt + max tokens each). */
  kvBytesUsed: number;
  kvBytesLimit: number;
  /** KV bytes actually held now, left padding of the decode batch included. */
  kvBytesAllocated: number;
  prefixCache: PrefixCacheStats;
}
