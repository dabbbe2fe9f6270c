// The runner's traces and metrics. Per request: an `llm.runner.generate` span (child of the caller's context:
// the gRPC call or the queue job) with GenAI attributes, one `llm.token` event per generated token and an
// `llm.runner.queue` child span for the wait for a batch slot. Per engine step (the engine reports them as
// an EngineObserver): an `llm.runner.step` span of its own trace, linked to the request spans it served.
import type { EngineInfo, EngineObserver, EngineStep, FinalEvent } from "@llm/engine";
import type { ModelRunnerServiceGenerateRequest } from "@llm/proto";
import {
  counter,
  GEN_AI,
  histogram,
  injectContext,
  LLM_ATTR,
  METRICS,
  markFailed,
  observedCounter,
  observedGauge,
  type RequestTimings,
  SPANS,
  TOKEN_EVENT,
  type TraceCarrier,
  tracer,
} from "@llm/telemetry";
import { type Link, ROOT_CONTEXT, type Span, trace } from "@opentelemetry/api";
import type { RecentRequests } from "./recent-requests.js";

/** One request's span and timings while it runs. */
export interface RequestTrace {
  finished(final: FinalEvent): void;
  failed(error: unknown): void;
  /** Ends the span; call once, whatever happened. */
  end(): void;
}

interface LiveRequest {
  span: Span;
  timings: RequestTimings;
  /** Epoch ms, on the same clock as the engine's step times. */
  startedAt: number;
}

const nowMs = () => performance.timeOrigin + performance.now();

/** Make it after startTelemetry(): its instruments are created with it. */
export class RunnerTelemetry implements EngineObserver {
  private readonly live = new Map<string, LiveRequest>();
  private readonly batchSize = histogram(METRICS.batchSize);
  private readonly queueTime = histogram(METRICS.requestQueueTime);
  private readonly generatedTokens = counter(METRICS.generatedTokens);
  private readonly proposedTokens = counter(METRICS.speculativeProposedTokens);
  private readonly acceptedTokens = counter(METRICS.speculativeAcceptedTokens);
  private readonly acceptance = histogram(METRICS.speculativeAcceptance);

  constructor(private readonly recent: RecentRequests) {
    // Exported from the start, at 0 until something speculates, so a rate over them is defined.
    this.proposedTokens.add(0);
    this.acceptedTokens.add(0);
  }

  /** Load gauges and prefix-cache counters, read from the engine at each collection. */
  watch(engine: { info(): EngineInfo }): void {
    observedGauge(METRICS.queueDepth, () => engine.info().waiting);
    observedGauge(METRICS.runningRequests, () => engine.info().running);
    observedGauge(METRICS.kvCacheUsage, () => {
      const { kvBytesUsed, kvBytesLimit } = engine.info();
      return kvBytesLimit > 0 ? kvBytesUsed / kvBytesLimit : 0;
    });
    observedCounter(METRICS.prefixCacheQueries, () => engine.info().prefixCache.queries);
    observedCounter(METRICS.prefixCacheHits, () => engine.info().prefixCache.hits);
  }

  /** Starts the request's span under the active context (call it inside the gRPC call or the job's context). */
  begin(request: ModelRunnerServiceGenerateRequest, modelId: string): RequestTrace {
    const { requestId } = request;
    const span = tracer().startSpan(SPANS.runnerGenerate, {
      attributes: {
        [LLM_ATTR.requestId]: requestId,
        [GEN_AI.operationName]: "text_completion",
        [GEN_AI.requestModel]: request.model || modelId,
        [GEN_AI.requestMaxTokens]: request.maxTokens,
        [GEN_AI.usageInputTokens]: request.promptTokenIds.length,
        ...(request.sampling?.temperature === undefined
          ? {}
          : { [GEN_AI.requestTemperature]: request.sampling.temperature }),
      },
    });
    const live: LiveRequest = {
      span,
      timings: this.recent.begin(requestId, modelId, request.promptTokenIds.length),
      startedAt: nowMs(),
    };
    this.live.set(requestId, live);
    return {
      finished: ({ finishReason, usage }) => {
        live.timings.finishReason = finishReason;
        live.timings.cachedPromptTokens = usage.cachedPromptTokens;
        span.setAttributes({
          [GEN_AI.responseFinishReasons]: [finishReason],
          [GEN_AI.usageOutputTokens]: usage.completionTokens,
          [LLM_ATTR.cachedInputTokens]: usage.cachedPromptTokens,
        });
        const { proposedTokens = 0, acceptedTokens = 0 } = usage;
        if (proposedTokens > 0) {
          live.timings.proposedTokens = proposedTokens;
          live.timings.acceptedTokens = acceptedTokens;
          this.acceptance.record(acceptedTokens / proposedTokens);
        }
      },
      failed: (error) => markFailed(span, error),
      end: () => {
        if (this.live.get(requestId) === live) this.live.delete(requestId);
        span.end();
      },
    };
  }

  /** The request's trace context, for the remote sampler's per-sequence span. */
  contextOf(requestId: string): TraceCarrier {
    const live = this.live.get(requestId);
    return live ? injectContext(trace.setSpan(ROOT_CONTEXT, live.span)) : {};
  }

  onStep(step: EngineStep): void {
    this.batchSize.record(step.batchSize);
    this.generatedTokens.add(step.tokens.length);
    if (step.verify) {
      this.proposedTokens.add(step.verify.proposedTokens);
      this.acceptedTokens.add(step.verify.acceptedTokens);
    }
    this.stepSpan(step);
    for (const { requestId, token } of step.tokens) {
      const live = this.live.get(requestId);
      if (!live) continue;
      this.recent.token(live.timings, token, step);
      if (token.index === 0 && token.timing.queueMs !== undefined) this.queued(live, token.timing.queueMs);
      if (live.span.isRecording()) {
        live.span.addEvent(TOKEN_EVENT, {
          [LLM_ATTR.tokenIndex]: token.index,
          [LLM_ATTR.tokenId]: token.tokenId,
          [LLM_ATTR.sincePreviousMs]: token.timing.sincePreviousMs,
          [LLM_ATTR.stepIndex]: step.index,
        });
      }
    }
  }

  /** A root span (a step serves many requests, so it belongs to none of their traces), linked to each. */
  private stepSpan(step: EngineStep): void {
    const links: Link[] = [];
    for (const id of step.requestIds) {
      const span = this.live.get(id)?.span;
      if (span?.isRecording()) links.push({ context: span.spanContext() });
    }
    if (links.length === 0) return;
    tracer()
      .startSpan(SPANS.runnerStep, {
        root: true,
        startTime: step.startedAt,
        links,
        attributes: {
          [LLM_ATTR.stepIndex]: step.index,
          [LLM_ATTR.batchSize]: step.batchSize,
          [LLM_ATTR.prefillTokens]: step.prefillTokens,
          [LLM_ATTR.decodeTokens]: step.decodeTokens,
          [LLM_ATTR.newTokens]: step.tokens.length,
          [LLM_ATTR.provider]: step.provider,
          ...(step.verify && {
            [LLM_ATTR.verifyLookahead]: step.verify.lookahead,
            [LLM_ATTR.proposedTokens]: step.verify.proposedTokens,
            [LLM_ATTR.acceptedTokens]: step.verify.acceptedTokens,
          }),
        },
      })
      .end(step.startedAt + step.durationMs);
  }

  private queued(live: LiveRequest, queueMs: number): void {
    this.queueTime.record(queueMs / 1000);
    if (!live.span.isRecording()) return;
    tracer()
      .startSpan(SPANS.runnerQueue, { startTime: live.startedAt }, trace.setSpan(ROOT_CONTEXT, live.span))
      .end(live.startedAt + queueMs);
  }
}
