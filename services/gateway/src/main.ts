// Gateway: the public llm.v1.GenerationService over the tokenizer, model-runner and detokenizer services.
import { readConfig } from "@llm/config";
import { DetokenizerService, GenerationService, ModelRunnerService, TokenizerService } from "@llm/proto";
import { createClient, installSignalHandlers, registration, startServer, stderrLog } from "@llm/rpc";
import { generationService } from "./generation-service.js";
import { InflightRequests } from "./inflight.js";
import { ServedModels } from "./served-models.js";

const config = readConfig(process.env, [
  "LLM_HOST",
  "LLM_PORT",
  "LLM_TOKENIZER_URL",
  "LLM_RUNNER_URL",
  "LLM_DETOKENIZER_URL",
  "LLM_MAX_INPUT_BYTES",
  "LLM_MAX_INFLIGHT",
  "LLM_SHUTDOWN_GRACE_MS",
]);

function required(name: string, value: string | undefined): string {
  if (value === undefined)
    throw new Error(`${name} is not set: the gateway needs the address (host:port) of that service`);
  return value;
}

const upstreams = {
  tokenizer: createClient(TokenizerService, required("LLM_TOKENIZER_URL", config.LLM_TOKENIZER_URL)),
  runner: createClient(ModelRunnerService, required("LLM_RUNNER_URL", config.LLM_RUNNER_URL)),
  detokenizer: createClient(DetokenizerService, required("LLM_DETOKENIZER_URL", config.LLM_DETOKENIZER_URL)),
};
const service = generationService({
  upstreams,
  models: new ServedModels(upstreams.runner),
  inflight: new InflightRequests(config.LLM_MAX_INFLIGHT),
  limits: { maxInputBytes: config.LLM_MAX_INPUT_BYTES },
  log: stderrLog,
});

const server = await startServer({
  name: "gateway",
  host: config.LLM_HOST,
  port: config.LLM_PORT,
  services: [registration(GenerationService, service)],
});
stderrLog({
  level: "info",
  msg: "gateway ready",
  tokenizer: config.LLM_TOKENIZER_URL,
  runner: config.LLM_RUNNER_URL,
  detokenizer: config.LLM_DETOKENIZER_URL,
});
installSignalHandlers(async () => {
  await server.shutdown(config.LLM_SHUTDOWN_GRACE_MS); // stops accepting, lets streams finish
  for (const client of Object.values(upstreams)) client.close();
});
