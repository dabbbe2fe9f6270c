// A cluster-mode job continues the trace of the gateway request that queued it: the W3C context travels in the
// job data, the time the job waited in the queue becomes an `llm.queue.wait` span under the gateway's request
// span, and the generation's events are pulled inside that span (so the runner's request span is its child:
// gateway → queue → runner).
import { afterQueueWait, type TraceCarrier } from "@llm/telemetry";
import { context } from "@opentelemetry/api";

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
