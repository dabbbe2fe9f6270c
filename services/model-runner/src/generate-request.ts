// A ModelRunnerService.Generate request checked (design §7) and turned into the engine's request. The
// engine itself checks the prompt, max_tokens, the context length and the KV budget.
import type { GenerateRequest } from "@llm/engine";
import { LlmError } from "@llm/errors";
import {
  create,
  type ModelRunnerServiceGenerateRequest,
  type SamplingParams,
  SamplingParamsSchema,
  timestampMs,
} from "@llm/proto";
import { type StrategyNames, validateSamplingParams } from "@llm/sampling";

export interface RequestLimits {
  /** The id clients name in `model` ("" also means this model). */
  modelId: string;
  vocabSize: number;
  /** Strategies to accept; a remote sampler checks the names itself. */
  strategies: StrategyNames;
}

/** Accepts every name: the remote sampler knows its own plugins and rejects an unknown one per sequence. */
export const NAMES_CHECKED_BY_SAMPLER: StrategyNames = { has: () => true, names: () => [] };

/** Unset params: every field at its neutral value. */
const DEFAULT_SAMPLING = create(SamplingParamsSchema);

/** Longest timer Node can set (about 24.8 days); a later deadline is as good as none. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export function checkModel(model: string, limits: Pick<RequestLimits, "modelId">): void {
  if (model !== "" && model !== limits.modelId) {
    throw new LlmError("not_found", `unknown model "${model}": this runner serves "${limits.modelId}"`, {
      details: { field: "model", served: [limits.modelId] },
    });
  }
}

/** The engine request; `signal` (client cancel or gRPC deadline) and the message's own deadline both cancel it. */
export function engineRequestOf(
  request: ModelRunnerServiceGenerateRequest,
  limits: RequestLimits,
  signal: AbortSignal,
): GenerateRequest<SamplingParams> {
  checkModel(request.model, limits);
  validateSamplingParams(request.sampling, limits.vocabSize, limits.strategies);
  return {
    requestId: request.requestId,
    promptIds: request.promptTokenIds,
    maxTokens: request.maxTokens,
    sampling: request.sampling ?? DEFAULT_SAMPLING,
    stopTokenIds: request.stopTokenIds,
    ignoreEos: request.ignoreEos,
    cacheSalt: request.cacheSalt,
    signal: request.deadline ? AbortSignal.any([signal, deadlineSignal(timestampMs(request.deadline))]) : signal,
  };
}

function deadlineSignal(deadlineMs: number): AbortSignal {
  const remaining = deadlineMs - Date.now();
  if (remaining <= 0) return AbortSignal.abort(new LlmError("deadline_exceeded", "the request's deadline has passed"));
  return remaining > MAX_TIMER_MS ? new AbortController().signal : AbortSignal.timeout(remaining);
}
