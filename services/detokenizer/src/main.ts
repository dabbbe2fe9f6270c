// Detokenizer service: streams of token ids to UTF-8-safe text deltas with stop sequences, over gRPC.
import { runService } from "@llm/launcher/host";
import { configuredModel } from "@llm/model-pack";
import { DetokenizerService } from "@llm/proto";
import { registration } from "@llm/rpc";
import { TokenizerCatalog } from "@llm/tokenizer";
import { detokenizerService } from "./detokenizer-service.js";

await runService({
  name: "detokenizer",
  entryUrl: import.meta.url,
  config: ["LLM_MODELS_DIR", "LLM_MODEL_ID", "LLM_MODEL_DIR"],
  async wire({ config }) {
    const model = configuredModel(config, ["tokenizer.json"]);
    const catalog = new TokenizerCatalog({ defaultModel: model, modelsDir: config.LLM_MODELS_DIR });
    await catalog.preload();
    return {
      services: [registration(DetokenizerService, detokenizerService(catalog))],
      ready: { model: model.id, dir: model.dir },
    };
  },
});
