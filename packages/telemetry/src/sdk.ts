// Starting OpenTelemetry in a service process: resource (service name, version, instance id), OTLP export of
// traces and metrics when a collector is configured (standard OTEL_* variables, or LLM_OTLP_ENDPOINT), and a
// Prometheus /metrics port. The environment is an argument and is never written: LLM_OTLP_ENDPOINT reaches the
// exporters as their URL (the OTel SDK's own classes still read their standard OTEL_* tuning variables). Separate from the package's index so that libraries using the API (rpc, the CLI)
// never load the SDK. A telemetry failure (collector down, port taken) is logged, never fatal to serving.
//
// Context travels explicitly (packages/rpc injects and extracts W3C `traceparent` in gRPC metadata), so no
// module is monkey-patched and no ES-module loader hook is needed: calling this first thing in main.ts is enough.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { announce, type Log } from "@llm/log";
import { DiagLogLevel, diag } from "@opentelemetry/api";
import { OTLPMetricExporter as JsonMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http";
import { OTLPMetricExporter as ProtoMetricExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import { PrometheusExporter } from "@opentelemetry/exporter-prometheus";
import { OTLPTraceExporter as JsonTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as ProtoTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { type IMetricReader, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { NodeSDK, tracing } from "@opentelemetry/sdk-node";
import { memoryRoute } from "./memory-report.js";
import { type JsonRoute, type MetricsServer, startMetricsServer } from "./metrics-server.js";

export interface TelemetryOptions {
  /** service.name, e.g. "gateway". */
  service: string;
  /** The service's main.ts (`import.meta.url`): service.version comes from the nearest package.json. */
  entryUrl: string;
  /** LLM_OTLP_ENDPOINT: base URL of an OTLP/HTTP collector; OTEL_EXPORTER_OTLP_* variables win when set. */
  otlpEndpoint?: string;
  /** LLM_METRICS_PORT: the /metrics port (0 picks a free one); undefined: no port. */
  metricsPort?: number;
  metricsHost: string;
  /** Extra JSON routes on the metrics port (besides /memory, which every service has). */
  routes?: readonly JsonRoute[];
  log: Log;
  /** The process's environment (process.env in a service): OTEL_* variables. */
  env: Env;
}

type Env = Readonly<Record<string, string | undefined>>;
type Signal = "TRACES" | "METRICS";

export interface Telemetry {
  /** host:port of the metrics port, when one was asked for and could be opened. */
  metricsAddress: string | undefined;
  /** Flushes what is buffered (bounded in time: a dead collector cannot hold up a shutdown) and closes the port. */
  shutdown(): Promise<void>;
}

const SHUTDOWN_BOUND_MS = 3000;
/**
 * Events one span keeps (the SDK's default is 128, keeping the last ones): the runner's request span has one per
 * generated token, so a long generation would lose its first tokens. As many as the runner keeps per request for
 * `llm trace`; OTEL_SPAN_EVENT_COUNT_LIMIT still wins.
 */
const EVENTS_PER_SPAN = 8192;

export async function startTelemetry(options: TelemetryOptions): Promise<Telemetry> {
  const { env, otlpEndpoint } = options;
  diag.setLogger(rateLimitedDiag(options.log), DiagLogLevel.WARN);

  const prometheus =
    options.metricsPort === undefined ? undefined : new PrometheusExporter({ preventServerStart: true });
  const readers: IMetricReader[] = prometheus ? [prometheus] : [];
  if (configured(env, "METRICS", otlpEndpoint))
    readers.push(otlpMetricReader(env, urlOf(env, "METRICS", otlpEndpoint)));

  const sdk = new NodeSDK({
    resource: resourceFromAttributes({
      "service.name": options.service,
      "service.version": packageVersion(options.entryUrl),
      "service.instance.id": randomUUID(),
    }),
    metricReaders: readers,
    spanLimits: { eventCountLimit: Number(env.OTEL_SPAN_EVENT_COUNT_LIMIT) || EVENTS_PER_SPAN },
    logRecordProcessors: [], // logs go to stderr as JSON lines
    ...traceExport(env, otlpEndpoint),
  });
  sdk.start();

  let server: MetricsServer | undefined;
  if (prometheus && options.metricsPort !== undefined) {
    server = await startMetricsServer(prometheus, options.metricsHost, options.metricsPort, [
      memoryRoute,
      ...(options.routes ?? []),
    ]).catch((err: Error) => {
      options.log({ level: "error", msg: "metrics port not opened; serving without it", err: err.message });
      return undefined;
    });
    if (server) announce({ event: "metrics", service: options.service, address: server.address });
  }

  return {
    metricsAddress: server?.address,
    async shutdown() {
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, SHUTDOWN_BOUND_MS);
      });
      await Promise.race([
        sdk.shutdown().catch((err: unknown) => {
          options.log({ level: "warn", msg: "telemetry flush failed at shutdown", err: String(err) });
        }),
        bound,
      ]);
      clearTimeout(timer);
      await server?.close();
    },
  };
}

/** Whether traces (or metrics) have somewhere to go: an OTLP endpoint, or an exporter chosen explicitly. */
function configured(env: Env, signal: Signal, otlpEndpoint: string | undefined): boolean {
  const exporter = env[`OTEL_${signal}_EXPORTER`];
  if (exporter) return exporter !== "none";
  return Boolean(otlpEndpoint || env.OTEL_EXPORTER_OTLP_ENDPOINT || env[`OTEL_EXPORTER_OTLP_${signal}_ENDPOINT`]);
}

/** The URL LLM_OTLP_ENDPOINT gives a signal; undefined when an OTEL_* endpoint wins (the exporter reads it). */
function urlOf(env: Env, signal: Signal, otlpEndpoint: string | undefined): string | undefined {
  if (!otlpEndpoint || env.OTEL_EXPORTER_OTLP_ENDPOINT || env[`OTEL_EXPORTER_OTLP_${signal}_ENDPOINT`])
    return undefined;
  return `${otlpEndpoint.replace(/\/+$/, "")}/v1/${signal.toLowerCase()}`;
}

/** http/json, or protobuf (the OTLP/HTTP default), as OTEL_EXPORTER_OTLP[_<signal>]_PROTOCOL says. */
function isJson(env: Env, signal: Signal): boolean {
  return (env[`OTEL_EXPORTER_OTLP_${signal}_PROTOCOL`] || env.OTEL_EXPORTER_OTLP_PROTOCOL) === "http/json";
}

/**
 * Span processing for the SDK: none at all without a destination (spans cost nothing); the OTLP exporter at
 * LLM_OTLP_ENDPOINT when only that names one; else the SDK's own choice from the OTEL_* variables.
 */
function traceExport(env: Env, otlpEndpoint: string | undefined): { spanProcessors?: tracing.SpanProcessor[] } {
  if (!configured(env, "TRACES", otlpEndpoint)) return { spanProcessors: [] };
  const url = urlOf(env, "TRACES", otlpEndpoint);
  const exporter = env.OTEL_TRACES_EXPORTER;
  if (url === undefined || (exporter && exporter !== "otlp")) return {};
  const otlp = isJson(env, "TRACES") ? new JsonTraceExporter({ url }) : new ProtoTraceExporter({ url });
  return { spanProcessors: [new tracing.BatchSpanProcessor(otlp)] };
}

/** OTLP over HTTP (protocol as isJson says); interval from the env. */
function otlpMetricReader(env: Env, url: string | undefined): IMetricReader {
  const exporter = isJson(env, "METRICS") ? new JsonMetricExporter({ url }) : new ProtoMetricExporter({ url });
  const interval = Number(env.OTEL_METRIC_EXPORT_INTERVAL);
  return new PeriodicExportingMetricReader({
    exporter,
    ...(interval > 0 ? { exportIntervalMillis: interval, exportTimeoutMillis: Math.min(interval, 30_000) } : {}),
  });
}

function packageVersion(entryUrl: string): string {
  for (let dir = dirname(fileURLToPath(entryUrl)); dir !== dirname(dir); dir = dirname(dir)) {
    try {
      return (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version?: string }).version ?? "0.0.0";
    } catch {
      // no package.json here: look one level up
    }
  }
  return "0.0.0";
}

/** The SDK's own warnings (an unreachable collector reports every export) at most once a minute per message. */
function rateLimitedDiag(log: Log) {
  const lastSeen = new Map<string, number>();
  const write =
    (level: "warn" | "error") =>
    (message: string, ...args: unknown[]) => {
      const now = Date.now();
      if (now - (lastSeen.get(message) ?? -Infinity) < 60_000) return;
      lastSeen.set(message, now);
      log({ level, msg: `telemetry: ${message}`, details: args.map(String).join(" ").slice(0, 500) });
    };
  const ignore = () => {};
  return { error: write("error"), warn: write("warn"), info: ignore, debug: ignore, verbose: ignore };
}
