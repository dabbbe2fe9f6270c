// A SERVER span per HTTP request, child of the client's W3C `traceparent`, so an HTTP request is one trace
// through the gateway's gRPC calls as a gRPC request is (packages/rpc opens the gRPC ones).
import type { IncomingMessage, ServerResponse } from "node:http";
import { extractContext, markFailed, SEMCONV, type TraceCarrier, tracer } from "@llm/telemetry";
import { context, SpanKind, trace } from "@opentelemetry/api";

/** Runs `handle` inside the request's span; the span ends with the response (or the client leaving). */
export function inHttpSpan(
  req: IncomingMessage,
  res: ServerResponse,
  route: string,
  handle: () => Promise<void>,
): Promise<void> {
  const carrier: TraceCarrier = {};
  for (const name of ["traceparent", "tracestate"]) {
    const value = req.headers[name];
    if (typeof value === "string") carrier[name] = value;
  }
  const parent = extractContext(carrier);
  const span = tracer().startSpan(
    `${req.method} ${route}`,
    {
      kind: SpanKind.SERVER,
      attributes: { [SEMCONV.httpRequestMethod]: req.method ?? "", [SEMCONV.httpRoute]: route },
    },
    parent,
  );
  res.once("close", () => {
    span.setAttribute(SEMCONV.httpResponseStatusCode, res.statusCode);
    if (res.statusCode >= 500) markFailed(span, new Error(`HTTP ${res.statusCode}`));
    span.end();
  });
  return context.with(trace.setSpan(parent, span), handle);
}
