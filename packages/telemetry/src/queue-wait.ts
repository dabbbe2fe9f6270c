// A queued job continues the trace of the request that queued it: the time the job waited becomes an
// `llm.queue.wait` span under the request's span, and the consumer's work runs in that span's context.
import { type Context, context, SpanKind, trace } from "@opentelemetry/api";
import { SEMCONV, SPANS } from "./span-names.js";
import { tracer } from "./spans.js";
import { extractContext, queuedAt, type TraceCarrier } from "./trace-context.js";

/** Records the wait from the enqueue (the carrier says when) to now; the context to continue the work in. */
export function afterQueueWait(carrier: TraceCarrier): Context {
  const parent = extractContext(carrier);
  const since = queuedAt(carrier);
  if (since === undefined) return parent;
  const now = Date.now();
  const span = tracer().startSpan(
    SPANS.queueWait,
    {
      kind: SpanKind.CONSUMER,
      // The producer's clock: a skewed one must not give the span a negative length.
      startTime: Math.min(since, now),
      attributes: { [SEMCONV.messagingSystem]: "bullmq", [SEMCONV.messagingOperationType]: "receive" },
    },
    parent,
  );
  span.end(now);
  return trace.setSpan(parent, span);
}

/** Runs `work` (a job taken from a queue) in the trace of the request that queued it, after its wait. */
export function inQueuedTrace<T>(carrier: TraceCarrier, work: () => T): T {
  return context.with(afterQueueWait(carrier), work);
}
