// The per-service HTTP port: Prometheus text on /metrics, plus JSON routes: /memory (every service, see
// memory-report.ts) and those a service adds (the runner's recent request timings for `llm trace`).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { PrometheusExporter } from "@opentelemetry/exporter-prometheus";

/** GET <prefix><rest> answers JSON of what `lookup(rest)` returns, or 404 when it returns undefined. */
export interface JsonRoute {
  prefix: string;
  lookup(rest: string): unknown;
}

export interface MetricsServer {
  /** host:port */
  address: string;
  close(): Promise<void>;
}

export async function startMetricsServer(
  exporter: PrometheusExporter,
  host: string,
  port: number,
  routes: readonly JsonRoute[],
): Promise<MetricsServer> {
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://localhost").pathname;
    if (request.method !== "GET") {
      response.writeHead(405).end();
    } else if (path === "/metrics") {
      exporter.getMetricsRequestHandler(request, response);
    } else {
      const route = routes.find(({ prefix }) => path.startsWith(prefix));
      const body = route?.lookup(decodeURIComponent(path.slice(route.prefix.length)));
      if (body === undefined) response.writeHead(404).end();
      else response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const bound = server.address() as AddressInfo;
  const shownHost = bound.family === "IPv6" ? `[${bound.address}]` : bound.address;
  return {
    address: `${shownHost}:${bound.port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
