// llm.v1.ModelRunnerService over the engine: Generate streams token events then one final event; Info
// reports the model and the load; Cancel frees a request's slot within one engine step.
import type { Engine, EngineInfo, FinalEvent, GenerationEvent, TokenEvent } from "@llm/engine";
import { LlmError } from "@llm/errors";
import type { Log } from "@llm/log";
import {
  FinishReason,
  type MessageInitShape,
  type ModelRunnerService,
  type ModelRunnerServiceGenerateRequest,
  type ModelRunnerServiceGenerateResponseSchema,
  type ModelRunnerServiceInfoResponseSchema,
  type SamplingParams,
} from "@llm/proto";
import type { ServiceImpl } from "@llm/rpc";
import { outsideAnyTrace } from "@llm/telemetry";
import { checkModel, engineRequestOf, type RunnerLimits, requestSignal } from "./generate-request.js";
import type { RequestTrace, RunnerTelemetry } from "./runner-telemetry.js";

type GenerateResponseInit = MessageInitShape<typeof ModelRunnerServiceGenerateResponseSchema>;
type InfoResponseInit = MessageInitShape<typeof ModelRunnerServiceInfoResponseSchema>;

export interface RunnerServiceOptions {
  engine: Engine<SamplingParams>;
  limits: RunnerLimits;
  log: Log;
  telemetry: RunnerTelemetry;
}

export function modelRunnerService(runner: RunnerServiceOptions): ServiceImpl<typeof ModelRunnerService> {
  const { engine, limits } = runner;
  return {
    generate: (request, ctx) => runGeneration(request, ctx.signal, runner),
    async info(request) {
      checkModel(request.model, limits);
      return infoResponse(limits.modelId, engine.info());
    },
    async cancel({ requestId }) {
      if (!engine.cancel(requestId)) {
        throw new LlmError("not_found", `no running or waiting request has id "${requestId}"`, {
          details: { field: "request_id" },
        });
      }
      return { found: true };
    },
  };
}

/**
 * One generation's events, ended early when `signal` aborts or the request's own deadline passes. The gRPC
 * Generate handler and the cluster-mode queue worker both serve requests through it.
 */
export async function* runGeneration(
  request: ModelRunnerServiceGenerateRequest,
  signal: AbortSignal,
  { engine, limits, log, telemetry }: RunnerServiceOptions,
): AsyncGenerator<GenerateResponseInit> {
  const cancel = requestSignal(signal, request);
  const trace = telemetry.begin(request, limits.modelId);
  try {
    // The engine loop a submit may start serves every later request too: it must not run in this one's trace.
    const events = outsideAnyTrace(() => engine.submit(engineRequestOf(request, limits, cancel.signal)));
    yield* generation(events, request.requestId, log, trace);
  } catch (err) {
    trace.failed(err);
    throw err;
  } finally {
    // Ended by the client (cancel, deadline) rather than by the output: the span says why, as the call's span does.
    if (cancel.signal.aborted) trace.failed(cancel.signal.reason);
    trace.end();
    cancel.dispose();
  }
}

/** The engine's events as responses; a failed generation ends the call with its error's status. */
async function* generation(
  events: AsyncIterable<GenerationEvent>,
  requestId: string,
  log: Log,
  trace: RequestTrace,
): AsyncGenerator<GenerateResponseInit> {
  for await (const event of events) {
    if (event.type === "token") {
      yield tokenResponse(event);
      continue;
    }
    log({ level: "info", msg: "generate ended", requestId, ...event.usage, finish: event.finishReason });
    trace.finished(event);
    if (event.finishReason === "error") {
      throw event.error ?? new LlmError("internal", "the generation failed without a reason");
    }
    yield finalResponse(event);
  }
}

function tokenResponse(token: TokenEvent): GenerateResponseInit {
  const { index, tokenId, logprob, topLogprobs, timing, cachedPromptTokens } = token;
  return {
    event: {
      case: "token",
      value: { index, tokenId, logprob: logprob ?? 0, topLogprobs: topLogprobs ?? [], timing, cachedPromptTokens },
    },
  };
}

const FINISH_REASONS: Record<FinalEvent["finishReason"], FinishReason> = {
  eos: FinishReason.EOS,
  length: FinishReason.LENGTH,
  stop: FinishReason.STOP,
  cancelled: FinishReason.CANCELLED,
  error: FinishReason.ERROR,
};

function finalResponse({ finishReason, usage }: FinalEvent): GenerateResponseInit {
  return { event: { case: "final", value: { finishReason: FINISH_REASONS[finishReason], usage } } };
}

function infoResponse(modelId: string, info: EngineInfo): InfoResponseInit {
  const { prefixCache } = info;
  return {
    model: modelId,
    contextLength: info.contextLength,
    blockSize: info.blockSize,
    vocabSize: info.vocabSize,
    executionProvider: info.provider,
    maxBatchSize: info.maxBatchSize,
    running: info.running,
    waiting: info.waiting,
    kvBytesUsed: BigInt(info.kvBytesUsed),
    kvBytesLimit: BigInt(info.kvBytesLimit),
    prefixCache: {
      queries: BigInt(prefixCache.queries),
      hits: BigInt(prefixCache.hits),
      cachedBlocks: BigInt(prefixCache.blocks),
      cachedBytes: BigInt(prefixCache.bytes),
      sharedHitBlocks: BigInt(prefixCache.shared?.hitBlocks ?? 0),
      sharedWrittenBlocks: BigInt(prefixCache.shared?.writtenBlocks ?? 0),
      sharedErrors: BigInt(prefixCache.shared?.errors ?? 0),
    },
  };
}
