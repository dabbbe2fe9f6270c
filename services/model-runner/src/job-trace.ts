// A cluster-mode job continues the trace of the gateway request that queued it: the W3C context travels in the
// job data, the time the job waited in the queue becomes an `llm.queue.wait` span under the gateway's request
// span, and the generation's events are pulled inside that span (so the runner's request span is its child:
// gateway → queue → runner).
import { extractContext, queuedAt, SEMCONV, SPANS, type TraceCarrier, tracer } from "@llm/telemetry";
import { type Context, context, SpanKind, trace } from "@opentelemetry/api";

export async function* inJobTrace<T>(carrier: TraceCarrier, events: AsyncIterable<T>): AsyncGenerator<T> {
  const parent = afterQueueWait(carrier);
  const iterator = events[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await context.with(parent, () => iterator.next());
      if (next.done) return;
      yield next.value;
    }
  } finally {
    await iterator.return?.();
  }
}

/** Records the wait from the gateway's enqueue to now (this runner taking the job); the context to continue in. */
function afterQueueWait(carrier: TraceCarrier): Context {
  const parent = extractContext(carrier);
  const since = queuedAt(carrier);
  if (since === undefined) return parent;
  const now = Date.now();
  const span = tracer().startSpan(
    SPANS.queueWait,
    {
      kind: SpanKind.CONSUMER,
      // The gateway's clock: a skewed one must not give the span a negative length.
      startTime: Math.min(since, now),
      attributes: { [SEMCONV.messagingSystem]: "bullmq", [SEMCONV.messagingOperationType]: "receive" },
    },
    parent,
  );
  span.end(now);
  return trace.setSpan(parent, span);
}
