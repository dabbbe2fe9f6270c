// Tokenizer service: text ⇄ token ids and chat templates for the served model(s), over gRPC.
import { readFile } from "node:fs/promises";
import { runService } from "@llm/launcher/host";
import { configuredModel } from "@llm/model-pack";
import { TokenizerService } from "@llm/proto";
import { registration } from "@llm/rpc";
import { TokenizerCatalog } from "@llm/tokenizer";
import { tokenizerService } from "./tokenizer-service.js";

await runService({
  name: "tokenizer",
  entryUrl: import.meta.url,
  config: [
    "LLM_MODELS_DIR",
    "LLM_MODEL_ID",
    "LLM_MODEL_DIR",
    "LLM_MAX_INPUT_BYTES",
    "LLM_SPECIAL_TOKEN_TEXT",
    "LLM_CHAT_TEMPLATE",
  ],
  async wire({ config }) {
    const model = configuredModel(config, ["tokenizer.json"]);
    const template = config.LLM_CHAT_TEMPLATE;
    const catalog = new TokenizerCatalog({
      defaultModel: model,
      modelsDir: config.LLM_MODELS_DIR,
      tokenizer: {
        maxInputBytes: config.LLM_MAX_INPUT_BYTES,
        chatTemplate: template === undefined ? undefined : await readFile(template, "utf8"),
      },
    });
    await catalog.preload();
    const service = tokenizerService(catalog, { specialTokenText: config.LLM_SPECIAL_TOKEN_TEXT });
    return { services: [registration(TokenizerService, service)], ready: { model: model.id, dir: model.dir } };
  },
});
