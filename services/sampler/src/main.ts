// Sampler service: the @llm/sampling strategies (plus operators' plugins) over a batch-shaped bidi stream.
import { readConfig } from "@llm/config";
import { SamplerService } from "@llm/proto";
import { installSignalHandlers, registration, startServer, stderrLog } from "@llm/rpc";
import { createStrategyRegistry } from "@llm/sampling";
import { startTelemetry } from "@llm/telemetry/sdk";
import { loadStrategyPlugins } from "./plugins.js";
import { samplerService } from "./sampler-service.js";

/** One step's logits: batch 256 × a 256k vocabulary × 4 bytes; grpc-js would refuse more than 4 MiB. */
const MAX_STEP_BYTES = 256 * 1024 ** 2;
/** A batch-32 step of GPT-2 logits (6.4 MB) flows without waiting on window updates. */
const STEP_WINDOW_BYTES = 16 * 1024 ** 2;

const config = readConfig(process.env, [
  "LLM_HOST",
  "LLM_PORT",
  "LLM_SAMPLER_PLUGINS",
  "LLM_SHUTDOWN_GRACE_MS",
  "LLM_OTLP_ENDPOINT",
  "LLM_METRICS_PORT",
]);
const telemetry = await startTelemetry({
  service: "sampler",
  entryUrl: import.meta.url,
  otlpEndpoint: config.LLM_OTLP_ENDPOINT,
  metricsHost: config.LLM_HOST,
  metricsPort: config.LLM_METRICS_PORT,
  log: stderrLog,
});

const registry = createStrategyRegistry();
for (const plugin of await loadStrategyPlugins(registry, config.LLM_SAMPLER_PLUGINS ?? [])) {
  stderrLog({ level: "info", msg: "sampler plugin loaded", ...plugin });
}
const service = samplerService(registry, stderrLog);

const server = await startServer({
  name: "sampler",
  host: config.LLM_HOST,
  port: config.LLM_PORT,
  // A Sample stream lives as long as its runner: no span for it; each sequence on it gets one instead.
  services: [registration(SamplerService, service.impl, { untraced: ["sample"] })],
  maxReceiveMessageBytes: MAX_STEP_BYTES,
  receiveWindowBytes: STEP_WINDOW_BYTES,
});
stderrLog({ level: "info", msg: "sampler ready", strategies: registry.names() });
installSignalHandlers(async () => {
  service.drain(); // runners' streams end at their next step and reconnect elsewhere
  await server.shutdown(config.LLM_SHUTDOWN_GRACE_MS);
  await telemetry.shutdown();
});
