// A ModelRunnerService.Generate request checked (design §7) and turned into the engine's request. The
// engine itself checks the prompt, max_tokens, the context length and the KV budget.
import type { SpeculativeMode as EngineSpeculativeMode, GenerateRequest } from "@llm/engine";
import { LlmError } from "@llm/errors";
import {
  create,
  type ModelRunnerServiceGenerateRequest,
  type SamplingParams,
  SamplingParamsSchema,
  SpeculativeMode,
  timestampMs,
} from "@llm/proto";
import { type StrategyNames, validateSamplingParams } from "@llm/sampling";

export interface RunnerLimits {
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

export function checkModel(model: string, limits: Pick<RunnerLimits, "modelId">): void {
  if (model !== "" && model !== limits.modelId) {
    throw new LlmError("not_found", `unknown model "${model}": this runner serves "${limits.modelId}"`, {
      details: { field: "model", served: [limits.modelId] },
    });
  }
}

/** The engine request; aborting `signal` (client cancel, deadlines: see requestSignal) cancels it. */
export function engineRequestOf(
  request: ModelRunnerServiceGenerateRequest,
  limits: RunnerLimits,
  signal: AbortSignal,
): GenerateRequest<SamplingParams> {
  checkModel(request.model, limits);
  validateSamplingParams(request.sampling, limits.vocabSize, limits.strategies);
  return {
    requestId: request.requestId,
    promptIds: request.promptTokenIds,
    outputIds: request.outputTokenIds,
    maxTokens: request.maxTokens,
    sampling: request.sampling ?? DEFAULT_SAMPLING,
    stopTokenIds: request.stopTokenIds,
    ignoreEos: request.ignoreEos,
    cacheSalt: request.cacheSalt,
    speculative: speculativeModeOf(request.speculative),
    signal,
  };
}

/** The proto's modes as the engine names them; unspecified: the engine's default. */
const SPECULATIVE_MODES: Record<SpeculativeMode, EngineSpeculativeMode | undefined> = {
  [SpeculativeMode.UNSPECIFIED]: undefined,
  [SpeculativeMode.OFF]: "off",
  [SpeculativeMode.NGRAM]: "ngram",
  [SpeculativeMode.DRAFT]: "draft",
};

function speculativeModeOf(mode: SpeculativeMode): EngineSpeculativeMode | undefined {
  if (!(mode in SPECULATIVE_MODES)) {
    throw new LlmError("invalid_argument", `unknown speculative mode ${mode}: use OFF, NGRAM or DRAFT`, {
      details: { field: "speculative" },
    });
  }
  return SPECULATIVE_MODES[mode];
}

export interface RequestSignal {
  signal: AbortSignal;
  /** Clears the deadline timer and the listener; call when the request ends. */
  dispose(): void;
}

/**
 * Aborts when the call's signal does (client cancel, gRPC deadline) or at the message's own deadline.
 * A plain timer, not AbortSignal.timeout: Node holds a timeout signal only weakly, so one referenced
 * from an AbortSignal.any alone can be garbage-collected and never fire (seen here as a flaky deadline).
 */
export function requestSignal(callSignal: AbortSignal, request: ModelRunnerServiceGenerateRequest): RequestSignal {
  const controller = new AbortController();
  const onAbort = () => controller.abort(callSignal.reason);
  if (callSignal.aborted) onAbort();
  else callSignal.addEventListener("abort", onAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  if (request.deadline) {
    const expire = () => controller.abort(new LlmError("deadline_exceeded", "the request's deadline has passed"));
    const remaining = timestampMs(request.deadline) - Date.now();
    if (remaining <= 0) expire();
    else if (remaining <= MAX_TIMER_MS) timer = setTimeout(expire, remaining);
  }
  return {
    signal: controller.signal,
    dispose: () => {
      clearTimeout(timer);
      callSignal.removeEventListener("abort", onAbort);
    },
  };
}
