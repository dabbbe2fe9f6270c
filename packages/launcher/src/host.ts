// The one bootstrap every service's main.ts runs (the child side of startService): refuse unknown LLM_* names,
// read the configuration, start telemetry before anything else, let the service wire itself, serve its gRPC
// registrations with health and reflection (the `listening` line), log that it is ready, and on SIGTERM/SIGINT
// drain in order. A service's main.ts keeps only what is its own: which settings it reads and how it is wired.
// Exported as "@llm/launcher/host", apart from the index, so that the CLI never loads the telemetry SDK.
import { type Config, type ConfigName, type Env, readConfig, refuseUnknownConfigNames } from "@llm/config";
import { jsonLog, type Log } from "@llm/log";
import { installSignalHandlers, type Registration, type RunningServer, startServer } from "@llm/rpc";
import type { JsonRoute } from "@llm/telemetry";
import { startTelemetry } from "@llm/telemetry/sdk";

/** What every service reads, besides its own settings. */
const HOST_CONFIG = [
  "LLM_LOG_LEVEL",
  "LLM_HOST",
  "LLM_PORT",
  "LLM_SHUTDOWN_GRACE_MS",
  "LLM_OTLP_ENDPOINT",
  "LLM_METRICS_PORT",
] as const;

type HostName = (typeof HOST_CONFIG)[number];

export interface ServiceContext<N extends ConfigName> {
  config: Config<N | HostName>;
  log: Log;
}

/** A service, wired: what the host serves, and the service's own steps of start-up and shutdown. */
export interface ServiceWiring {
  services: readonly Registration[];
  /** Largest request message accepted (grpc-js's default is 4 MiB). */
  maxReceiveMessageBytes?: number;
  /**
   * After the gRPC server listens (its `listening` line comes first: launchers take it as the address): more
   * front doors or workers. Returns fields for the ready line.
   */
  started?(server: RunningServer): Promise<Record<string, unknown>> | Record<string, unknown>;
  /** Fields for the ready line known at wiring time. */
  ready?: Record<string, unknown>;
  /** On a signal, before anything drains (stop being routed to). */
  beforeDrain?(): Promise<void> | void;
  /** Drains alongside the gRPC server, within the same grace (another front door, a queue worker). */
  drainAlongside?(graceMs: number): Promise<void>;
  /** After the drain: close clients and resources; telemetry is flushed after it. */
  close?(): Promise<void> | void;
}

export interface ServiceOptions<N extends ConfigName> {
  /** service.name and the `listening` line's name, e.g. "tokenizer". */
  name: string;
  /** The service's main.ts (`import.meta.url`), for service.version. */
  entryUrl: string;
  /** The LLM_* settings the service reads besides the host's own. */
  config: readonly N[];
  /** Extra JSON routes on the metrics port. */
  metricsRoutes?: readonly JsonRoute[];
  /** Runs after telemetry started, so every span and instrument it creates is live. */
  wire(context: ServiceContext<N>): Promise<ServiceWiring> | ServiceWiring;
  /** Default process.env. */
  env?: Env;
}

/** Starts the service; rejects (the process exits 1 with the message) when it cannot. */
export async function runService<const N extends ConfigName>(options: ServiceOptions<N>): Promise<RunningServer> {
  const env = options.env ?? process.env;
  refuseUnknownConfigNames(env);
  const config = readConfig(env, [...HOST_CONFIG, ...options.config]);
  const log = jsonLog(config.LLM_LOG_LEVEL);
  const telemetry = await startTelemetry({
    service: options.name,
    entryUrl: options.entryUrl,
    otlpEndpoint: config.LLM_OTLP_ENDPOINT,
    env,
    metricsHost: config.LLM_HOST,
    metricsPort: config.LLM_METRICS_PORT,
    routes: options.metricsRoutes,
    log,
  });
  const wiring = await options.wire({ config, log });
  const server = await startServer({
    name: options.name,
    host: config.LLM_HOST,
    port: config.LLM_PORT,
    services: wiring.services,
    maxReceiveMessageBytes: wiring.maxReceiveMessageBytes,
    log,
  });
  const startedFields = (await wiring.started?.(server)) ?? {};
  log({ level: "info", msg: `${options.name} ready`, ...wiring.ready, ...startedFields });
  installSignalHandlers(async () => {
    await wiring.beforeDrain?.();
    const grace = config.LLM_SHUTDOWN_GRACE_MS;
    await Promise.all([server.shutdown(grace), wiring.drainAlongside?.(grace)]);
    await wiring.close?.();
    await telemetry.shutdown();
  }, log);
  return server;
}
