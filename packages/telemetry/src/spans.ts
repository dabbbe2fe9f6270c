// Span helpers shared by the services: one tracer name, errors marked the same way everywhere.
import { type Span, SpanStatusCode, type Tracer, trace } from "@opentelemetry/api";
import { SEMCONV } from "./span-names.js";

/** The API hands out a proxy until the SDK registers, so this may be called at import time. */
export function tracer(): Tracer {
  return trace.getTracer("@llm/telemetry");
}

/** Status ERROR plus `error.type`: the LlmError code when there is one (closed set), else the error's class. */
export function markFailed(span: Span, error: unknown): void {
  const code = (error as { code?: unknown } | null)?.code;
  const type = typeof code === "string" ? code : error instanceof Error ? error.name : "unknown";
  span.setAttribute(SEMCONV.errorType, type);
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}
