// Sampler service: the @llm/sampling strategies (plus operators' plugins) over a batch-shaped bidi stream.
import { runService } from "@llm/launcher/host";
import { SamplerService } from "@llm/proto";
import { registration } from "@llm/rpc";
import { createStrategyRegistry } from "@llm/sampling";
import { loadStrategyPlugins } from "./plugins.js";
import { samplerService } from "./sampler-service.js";

/** One step's logits: batch 256 × a 256k vocabulary × 4 bytes; grpc-js would refuse more than 4 MiB. */
const MAX_STEP_BYTES = 256 * 1024 ** 2;

await runService({
  name: "sampler",
  entryUrl: import.meta.url,
  config: ["LLM_SAMPLER_PLUGINS"],
  async wire({ config, log }) {
    const registry = createStrategyRegistry();
    for (const plugin of await loadStrategyPlugins(registry, config.LLM_SAMPLER_PLUGINS ?? [])) {
      log({ level: "info", msg: "sampler plugin loaded", ...plugin });
    }
    const service = samplerService(registry, log);
    return {
      // A Sample stream lives as long as its runner: no span for it; each sequence on it gets one instead.
      services: [registration(SamplerService, service.impl, { untraced: ["sample"] })],
      maxReceiveMessageBytes: MAX_STEP_BYTES,
      ready: { strategies: registry.names() },
      beforeDrain: () => service.drain(), // runners' streams end at their next step and reconnect elsewhere
    };
  },
});
