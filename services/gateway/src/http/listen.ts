// Binding the HTTP API, announcing it like the gRPC servers do, and draining it on shutdown.
import type { Server } from "node:http";
import { announce } from "@llm/log";

export interface ListeningHttp {
  /** http://host:port */
  url: string;
  /** Stops accepting, lets open responses (streams) finish for up to `graceMs`, then closes what is left. */
  shutdown(graceMs: number): Promise<void>;
}

export async function listenHttp(server: Server, name: string, host: string, port: number): Promise<ListeningHttp> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err) => reject(new Error(`${name}: cannot listen on ${host}:${port}: ${err.message}`)));
    server.listen(port, host, resolve);
  });
  const bound = server.address();
  const boundPort = typeof bound === "object" && bound ? bound.port : port;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${boundPort}`;
  // The same `listening` line as every gRPC server's, so launchers and people find the address the same way.
  announce({ event: "listening", service: name, address: url });
  return {
    url,
    async shutdown(graceMs) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), graceMs);
      await closed.finally(() => clearTimeout(timer));
    },
  };
}
