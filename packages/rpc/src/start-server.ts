// One gRPC server per service process: the service's own handlers plus health and reflection, bound and announced.
import type { DescService } from "@bufbuild/protobuf";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { announce, type Log } from "@llm/log";
import { Health, ServerReflection } from "@llm/proto";
import { HealthState, ServingStatus } from "./health.js";
import { reflectionImpl } from "./reflection.js";
import { addService, type ServiceImpl } from "./server.js";

/** A service and its handlers; `registration()` keeps the two tied to the same type. */
export interface Registration {
  service: DescService;
  impl: ServiceImpl<DescService>;
  /** Methods (local names) whose calls get no span: long-lived streams that serve many requests. */
  untraced: readonly string[];
}

export function registration<S extends DescService>(
  service: S,
  impl: ServiceImpl<S>,
  options: { untraced?: readonly (keyof S["method"] & string)[] } = {},
): Registration {
  return { service, impl: impl as unknown as ServiceImpl<DescService>, untraced: options.untraced ?? [] };
}

export interface StartServerOptions {
  /** Name printed in the `listening` line, e.g. "tokenizer". */
  name: string;
  host: string;
  /** 0 picks a free port. */
  port: number;
  services: readonly Registration[];
  log: Log;
  /** Largest request message accepted; grpc-js's default is 4 MiB (too small for a batch of logits). */
  maxReceiveMessageBytes?: number;
}

export interface RunningServer {
  port: number;
  /** host:port, ready for createClient. */
  address: string;
  /** Sets every registered service and the overall ("") health status. */
  setServing(serving: boolean): void;
  /** Marks NOT_SERVING, lets in-flight calls finish for up to `graceMs`, then cancels what is left. */
  shutdown(graceMs: number): Promise<void>;
}

export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const { log } = options;
  const server = new Server(
    options.maxReceiveMessageBytes === undefined
      ? {}
      : { "grpc.max_receive_message_length": options.maxReceiveMessageBytes },
  );
  const health = new HealthState();
  const services = [...options.services.map((r) => r.service), Health, ServerReflection];
  for (const { service, impl, untraced } of options.services) addService(server, service, impl, log, untraced);
  addService(server, Health, health.impl, log);
  addService(server, ServerReflection, reflectionImpl(services), log);

  const setServing = (serving: boolean) => {
    const status = serving ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
    for (const name of ["", ...services.map((s) => s.typeName)]) health.set(name, status);
  };

  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${hostForUri(options.host)}:${options.port}`, ServerCredentials.createInsecure(), (err, bound) =>
      err
        ? reject(new Error(`${options.name}: cannot listen on ${options.host}:${options.port}: ${err.message}`))
        : resolve(bound),
    ),
  );
  const address = `${hostForUri(options.host)}:${port}`;
  setServing(true);
  announce({ event: "listening", service: options.name, address });

  let stopped: Promise<void> | undefined;
  const shutdown = (graceMs: number) => {
    stopped ??= drain(server, graceMs, () => {
      setServing(false);
      health.close();
    }).then((forced) => log({ level: "info", msg: "server stopped", service: options.name, forced }));
    return stopped;
  };
  return { port, address, setServing, shutdown };
}

/** Resolves true when calls had to be cut off after `graceMs`. */
function drain(server: Server, graceMs: number, beforeDrain: () => void): Promise<boolean> {
  beforeDrain();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve(true);
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

function hostForUri(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

/**
 * Runs `shutdown` once on the first SIGTERM or SIGINT, then exits (1 if it failed). A second signal exits at once.
 */
export function installSignalHandlers(shutdown: () => Promise<void>, log: Log): void {
  let shuttingDown = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (shuttingDown) process.exit(1);
    shuttingDown = true;
    log({ level: "info", msg: "shutting down", signal });
    shutdown().then(
      () => process.exit(0),
      (err: unknown) => {
        log({ level: "error", msg: "shutdown failed", err });
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
}
