// The services wired as `npm start` wires them (runner → remote sampler; the embedder when an embedding model is
// given), each a real child process.
import { type RunningService, type StartServiceOptions, startService } from "@llm/testing";

export interface Pipeline {
  gateway: string;
  services: RunningService[];
  /** Stops the gateway first, then the back ends; resolves with each service's exit code. */
  stop(): Promise<Record<string, number | null>>;
}

/** `model.file`: the runner's LLM_MODEL_FILE (a dtype name or a file under onnx/); default onnx/model.onnx. */
export async function startPipeline(
  model: { dir: string; id: string; file?: string },
  embedding?: { dir: string; id: string },
  /** More settings for the model runner (e.g. a draft model for speculative decoding). */
  runnerEnv: Record<string, string> = {},
): Promise<Pipeline> {
  const services: { name: string; service: RunningService }[] = [];
  const pipeline: Pipeline = {
    gateway: "",
    services: [],
    async stop() {
      const codes: Record<string, number | null> = {};
      for (const { name, service } of [...services].reverse()) codes[name] = (await service.stop()).code;
      return codes;
    },
  };
  // Generous start-up time: five processes transpiling at once on a shared 2-core machine.
  const start = async (name: string, env: Record<string, string>, options: StartServiceOptions = {}) => {
    const service = await startService(`services/${name}/src/main.ts`, { name, env, timeoutMs: 60_000, ...options });
    services.push({ name, service });
    pipeline.services.push(service);
    return service.address;
  };
  try {
    const modelEnv = { LLM_MODEL_DIR: model.dir, LLM_MODEL_ID: model.id };
    const settled = await Promise.allSettled([
      start("tokenizer", modelEnv),
      start("detokenizer", modelEnv),
      start("sampler", {}),
      ...(embedding ? [start("embedder", { LLM_MODEL_DIR: embedding.dir, LLM_MODEL_ID: embedding.id })] : []),
    ]);
    const failed = settled.find((result) => result.status === "rejected");
    if (failed) throw failed.reason;
    const [tokenizer, detokenizer, sampler, embedder] = settled.map(
      (result) => (result as PromiseFulfilledResult<string>).value,
    );
    const fileEnv: Record<string, string> = model.file ? { LLM_MODEL_FILE: model.file } : {};
    const runner = await start("model-runner", { ...modelEnv, ...fileEnv, LLM_SAMPLER_URL: sampler, ...runnerEnv });
    pipeline.gateway = await start("gateway", {
      LLM_TOKENIZER_URL: tokenizer,
      LLM_RUNNER_URL: runner,
      LLM_DETOKENIZER_URL: detokenizer,
      ...(embedder ? { LLM_EMBEDDER_URL: embedder } : {}),
    });
    return pipeline;
  } catch (err) {
    await pipeline.stop(); // whatever did start
    throw err;
  }
}
