// Sampler service: the @llm/sampling strategies (plus operators' plugins) over a batch-shaped bidi stream.
import { runService } from "@llm/launcher/host";
import { SamplerService } from "@llm/proto";
import { registration } from "@llm/rpc";
import { createStrategyRegistry } from "@llm/sampling";
import { ConstraintCompilers } from "./constraint-compilers.js";
import { loadStrategyPlugins } from "./plugins.js";
import { samplerService } from "./sampler-service.js";

/** One step's logits: batch 256 × a 256k vocabulary × 4 bytes; grpc-js would refuse more than 4 MiB. */
const MAX_STEP_BYTES = 256 * 1024 ** 2;
/** A batch-32 step of GPT-2 logits (6.4 MB) flows without waiting on window updates. */
const STEP_WINDOW_BYTES = 16 * 1024 ** 2;

await runService({
  name: "sampler",
  entryUrl: import.meta.url,
  config: ["LLM_SAMPLER_PLUGINS", "LLM_CONSTRAINT_COMPILE_TIMEOUT_MS"],
  async wire({ config, log }) {
    const registry = createStrategyRegistry();
    for (const plugin of await loadStrategyPlugins(registry, config.LLM_SAMPLER_PLUGINS ?? [])) {
      log({ level: "info", msg: "sampler plugin loaded", ...plugin });
    }
    const compilers = new ConstraintCompilers({ compileTimeoutMs: config.LLM_CONSTRAINT_COMPILE_TIMEOUT_MS });
    const service = samplerService(registry, log, compilers);
    return {
      // A Sample stream lives as long as its runner: no span for it; each sequence on it gets one instead.
      services: [registration(SamplerService, service.impl, { untraced: ["sample"] })],
      maxReceiveMessageBytes: MAX_STEP_BYTES,
      receiveWindowBytes: STEP_WINDOW_BYTES,
      ready: { strategies: registry.names() },
      beforeDrain: () => service.drain(), // runners' streams end at their next step and reconnect elsewhere
      close: () => compilers.close(),
    };
  },
});
