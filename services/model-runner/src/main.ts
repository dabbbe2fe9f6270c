// Model runner: the continuous-batching engine over ONNX Runtime, served as llm.v1.ModelRunnerService.
// Samples in-process by default; LLM_SAMPLER_URL makes it use a remote sampler service instead.
import { readConfig } from "@llm/config";
import { Engine, type Sampler as EngineSampler, inProcessSampler, readModelConfig } from "@llm/engine";
import { servedModel } from "@llm/model-pack";
import { connectSharedTier, RedisBlockStore } from "@llm/prefix-cache";
import { ModelRunnerService, type SamplingParams } from "@llm/proto";
import { installSignalHandlers, registration, startServer, stderrLog } from "@llm/rpc";
import { Sampler } from "@llm/sampling";
import { NAMES_CHECKED_BY_SAMPLER } from "./generate-request.js";
import { RemoteSampler } from "./remote-sampler.js";
import { modelRunnerService } from "./runner-service.js";

const config = readConfig(process.env, [
  "LLM_HOST",
  "LLM_PORT",
  "LLM_MODELS_DIR",
  "LLM_MODEL_ID",
  "LLM_MODEL_DIR",
  "LLM_EXECUTION_PROVIDERS",
  "LLM_MAX_BATCH_SIZE",
  "LLM_KV_CACHE_BYTES",
  "LLM_PREFIX_CACHE_BYTES",
  "LLM_PREFIX_CACHE_TTL_S",
  "LLM_PREFIX_CACHE_REDIS_DTYPE",
  "LLM_REDIS_URL",
  "LLM_SAMPLER_URL",
  "LLM_SHUTDOWN_GRACE_MS",
]);

const model = servedModel({
  modelsDir: config.LLM_MODELS_DIR,
  modelId: config.LLM_MODEL_ID,
  modelDir: config.LLM_MODEL_DIR,
  requiredFiles: ["config.json", "onnx/model.onnx"],
});
const { vocabSize } = await readModelConfig(model.dir);
const remote = config.LLM_SAMPLER_URL ? new RemoteSampler(config.LLM_SAMPLER_URL, stderrLog) : undefined;
const library = remote ? undefined : new Sampler({ vocabSize });
// The proto's SamplingParams go to either sampler untouched (the library reads the same field names).
const sampler: EngineSampler<SamplingParams> = remote ?? inProcessSampler(library as Sampler);

const logger = {
  info: (msg: string) => stderrLog({ level: "info", msg }),
  warn: (msg: string) => stderrLog({ level: "warn", msg }),
};
// With Redis, prefix-cache blocks are shared by every runner: a Redis tier behind the memory tier.
const sharedRedis = config.LLM_REDIS_URL ? connectSharedTier(config.LLM_REDIS_URL, logger) : undefined;
const sharedPrefixStore =
  sharedRedis &&
  new RedisBlockStore({
    redis: sharedRedis,
    ttlSeconds: config.LLM_PREFIX_CACHE_TTL_S,
    dtype: config.LLM_PREFIX_CACHE_REDIS_DTYPE,
    logger,
  });

const engine = await Engine.load({
  modelDir: model.dir,
  sampler,
  providers: config.LLM_EXECUTION_PROVIDERS,
  maxBatchSize: config.LLM_MAX_BATCH_SIZE,
  kvCacheBytes: config.LLM_KV_CACHE_BYTES,
  prefixCacheBytes: config.LLM_PREFIX_CACHE_BYTES,
  sharedPrefixStore,
  logger,
});

const service = modelRunnerService({
  engine,
  limits: { modelId: model.id, vocabSize, strategies: library?.registry ?? NAMES_CHECKED_BY_SAMPLER },
  log: stderrLog,
});
const server = await startServer({
  name: "model-runner",
  host: config.LLM_HOST,
  port: config.LLM_PORT,
  services: [registration(ModelRunnerService, service)],
});
const info = engine.info();
stderrLog({
  level: "info",
  msg: "model-runner ready",
  model: model.id,
  dir: model.dir,
  provider: info.provider,
  providerAttempts: engine.providerAttempts,
  sampler: remote ? `remote ${remote.address}` : "in-process",
  maxBatchSize: info.maxBatchSize,
  kvBytesLimit: info.kvBytesLimit,
  prefixCache: info.prefixCache.tier,
});
installSignalHandlers(async () => {
  await server.shutdown(config.LLM_SHUTDOWN_GRACE_MS); // in-flight streams finish first
  await engine.close();
  remote?.shutdown();
  sharedRedis?.disconnect();
});
