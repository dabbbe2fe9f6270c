// The API side of telemetry (no SDK loaded): metric registry and instruments, span helpers, trace context.
// Services start the SDK from "@llm/telemetry/sdk".
export { counter, histogram, observedCounter, observedGauge } from "./instruments.js";
export { MEMORY_REPORT_PATH, type MemoryReport } from "./memory-report.js";
export { type CounterSpec, type GaugeSpec, type HistogramSpec, METRICS, type MetricKey } from "./metric-names.js";
export type { JsonRoute } from "./metrics-server.js";
export { afterQueueWait, inQueuedTrace } from "./queue-wait.js";
export { REQUEST_TIMINGS_PATH, type RequestTimings, type TokenTimingRecord } from "./request-timings.js";
export { GEN_AI, LLM_ATTR, SEMCONV, SPANS, TOKEN_EVENT } from "./span-names.js";
export { markFailed, tracer } from "./spans.js";
export {
  extractContext,
  injectContext,
  injectQueuedContext,
  outsideAnyTrace,
  queuedAt,
  type TraceCarrier,
} from "./trace-context.js";
