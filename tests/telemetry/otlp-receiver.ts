// A real OTLP/HTTP receiver for the telemetry tests: services export OTLP/JSON traces to it (LLM_OTLP_ENDPOINT),
// and every span they send is kept with the service that sent it.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

type AttributeValue = { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean };
type Attributes = { key: string; value: AttributeValue }[];

export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  /** Nanoseconds since the epoch (a decimal string in OTLP/JSON). */
  startTimeUnixNano?: string;
  endTimeUnixNano?: string;
  /** 2 = ERROR. */
  status?: { code?: number; message?: string };
  events?: { name: string; attributes?: Attributes }[];
  links?: { traceId: string; spanId: string }[];
  attributes?: Attributes;
}
export interface ReceivedSpan extends OtlpSpan {
  service: string;
}

export interface OtlpReceiver {
  spans: ReceivedSpan[];
  /** The variables that point a service's exporter here (traces only, as JSON). */
  env: Record<string, string>;
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8").on("data", (chunk: string) => {
      body += chunk;
    });
    req.on("end", () => {
      if (req.url === "/v1/traces") spans.push(...spansOf(body));
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    spans,
    env: {
      LLM_OTLP_ENDPOINT: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_METRICS_EXPORTER: "none",
      OTEL_BSP_SCHEDULE_DELAY: "100", // spans arrive within a tick of ending, so a test can wait for them
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function spansOf(body: string): ReceivedSpan[] {
  const data = JSON.parse(body) as {
    resourceSpans?: { resource: { attributes: Attributes }; scopeSpans: { spans: OtlpSpan[] }[] }[];
  };
  const received: ReceivedSpan[] = [];
  for (const { resource, scopeSpans } of data.resourceSpans ?? []) {
    const service = resource.attributes.find((a) => a.key === "service.name")?.value.stringValue ?? "?";
    for (const scope of scopeSpans) for (const span of scope.spans) received.push({ ...span, service });
  }
  return received;
}

/** An attribute's value as a string (numbers too), or undefined when the span lacks it. */
export function attr(span: Pick<OtlpSpan, "attributes">, key: string): string | undefined {
  const value = span.attributes?.find((a) => a.key === key)?.value;
  if (value === undefined) return undefined;
  return String(value.stringValue ?? value.intValue ?? value.doubleValue ?? value.boolValue);
}

/** Every string a span carries (name, status message, attribute and event values): where recorded text would be. */
export function textsOf(span: OtlpSpan): string[] {
  const values = (attributes: Attributes = []) => attributes.map(({ value }) => String(value.stringValue ?? ""));
  return [
    span.name,
    span.status?.message ?? "",
    ...values(span.attributes),
    ...(span.events ?? []).flatMap((event) => [event.name, ...values(event.attributes)]),
  ];
}
