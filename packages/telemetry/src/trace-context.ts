// W3C trace context across hops that are not gRPC calls (BullMQ job data, the sampler's per-sequence start):
// inject the active context into a plain string map, extract it on the other side. Work put on a queue also
// carries the time it was queued.
import { type Context, context, propagation, ROOT_CONTEXT } from "@opentelemetry/api";

/** `traceparent` (and `tracestate`, baggage) as plain strings: JSON- and protobuf-map-friendly. */
export type TraceCarrier = Record<string, string>;

export function injectContext(from: Context = context.active()): TraceCarrier {
  const carrier: TraceCarrier = {};
  propagation.inject(from, carrier);
  return carrier;
}

/** Carrier entry with the time (epoch ms) the work was queued: its consumer shows the wait as a span. */
const QUEUED_AT = "llm-queued-at";

/** injectContext() for work put on a queue: also the time it was queued (nothing at all when tracing is off). */
export function injectQueuedContext(from: Context = context.active()): TraceCarrier {
  const carrier = injectContext(from);
  if (Object.keys(carrier).length > 0) carrier[QUEUED_AT] = String(Date.now());
  return carrier;
}

/** When the carrier's work was queued (epoch ms), if it says. */
export function queuedAt(carrier: TraceCarrier | undefined): number | undefined {
  const at = Number(carrier?.[QUEUED_AT]);
  return Number.isFinite(at) && at > 0 ? at : undefined;
}

/** The context a carrier describes (the root context when it is empty or missing). */
export function extractContext(carrier: TraceCarrier | undefined): Context {
  return propagation.extract(ROOT_CONTEXT, carrier ?? {});
}

/**
 * Runs `fn` outside any trace. For work that outlives the request that started it (the engine loop a request
 * kicks off serves every later request too): without this, async context would parent all of it to that request.
 */
export function outsideAnyTrace<T>(fn: () => T): T {
  return context.with(ROOT_CONTEXT, fn);
}
