// W3C trace context across hops that are not gRPC calls (BullMQ job data, the sampler's per-sequence start):
// inject the active context into a plain string map, extract it on the other side.
import { type Context, context, propagation, ROOT_CONTEXT } from "@opentelemetry/api";

/** `traceparent` (and `tracestate`, baggage) as plain strings: JSON- and protobuf-map-friendly. */
export type TraceCarrier = Record<string, string>;

export function injectContext(from: Context = context.active()): TraceCarrier {
  const carrier: TraceCarrier = {};
  propagation.inject(from, carrier);
  return carrier;
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
