// `npm start`: the whole pipeline on loopback, each service its own process, health-gated, stopped together.
//   npm start                         serve until Ctrl-C; generate with `npx llm generate "..."`
//   npm start -- "Once upon a time"   also stream one generation (add --exit to stop afterwards; --preset,
//                                     --max-tokens, --temperature, --seed shape it; --embedding-preset none
//                                     starts no embedder; --draft-preset none loads no draft model;
//                                     --speculative off|ngram|draft sets the runner's default)
import { appendFileSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { generate } from "@llm/cli";
import { clearEndpoints, ENDPOINTS_FILE, type RunningService, startService, writeEndpoints } from "@llm/launcher";
import { DEFAULT_EMBEDDING_PRESET, DEFAULT_PRESET, DRAFT_PRESETS, ensureModel } from "@llm/model-pack";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    preset: { type: "string", default: DEFAULT_PRESET },
    // The embedding model behind /v1/embeddings (the bundled encoder by default); "none" starts no embedder.
    "embedding-preset": { type: "string", default: DEFAULT_EMBEDDING_PRESET },
    // The draft model for speculative decoding (requests ask with `speculative`): the preset's own, if it has one.
    "draft-preset": { type: "string" },
    // The runner's default speculative mode for requests that do not choose (LLM_SPECULATIVE).
    speculative: { type: "string", default: "off" },
    "max-tokens": { type: "string", default: "64" },
    // The small demo model reads best a little below 1: greedy loops ("and the LORD, and the LORD"), 1 wanders.
    temperature: { type: "string", default: "0.8" },
    seed: { type: "string" },
    exit: { type: "boolean", default: false },
  },
});

const LOG_DIR = join(ENDPOINTS_FILE, "..", "logs");
/** Linux's memory-backed file system; elsewhere the runner sends logits in messages. */
const SHARED_MEMORY_DIR = "/dev/shm";
mkdirSync(LOG_DIR, { recursive: true });
const running: RunningService[] = [];

/** Starts one service; its JSON logs go to .cache/logs/<name>.log, warnings and errors also to the terminal. */
async function start(name: string, env: Record<string, string>): Promise<string> {
  const logFile = join(LOG_DIR, `${name}.log`);
  const service = await startService(`services/${name}/src/main.ts`, {
    name,
    env,
    timeoutMs: 60_000,
    ownProcessGroup: true, // Ctrl-C reaches this script only; stopAll then stops the services in order
    onStderr: (chunk) => {
      appendFileSync(logFile, chunk);
      for (const line of chunk.split("\n"))
        if (/"level":"(warn|error)"/.test(line)) process.stderr.write(`${name}: ${line}\n`);
    },
  });
  running.push(service);
  process.stdout.write(`${name.padEnd(13)} ${service.address}\n`);
  return service.address;
}

async function stopAll(): Promise<void> {
  await clearEndpoints();
  // Front door first, so nothing new arrives while the back ends drain. The grace outlasts the services' own
  // drain (LLM_SHUTDOWN_GRACE_MS, 10 s by default): in-flight streams finish and each service exits by itself.
  for (const service of running.reverse()) await service.stop(15_000);
}

let stopping = false;
// SIGHUP too: the services are outside the terminal's process group, so a closed terminal must stop them here.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    stopAll().then(() => process.exit(0));
  });
}

try {
  const model = await ensureModel(values.preset);
  process.stdout.write(`model         ${model.dir}\n`);
  const modelEnv = { LLM_MODEL_DIR: model.dir, LLM_MODEL_ID: values.preset };
  const embedding = values["embedding-preset"] === "none" ? undefined : await ensureModel(values["embedding-preset"]);
  if (embedding) process.stdout.write(`${"embedding".padEnd(13)} ${embedding.dir}\n`);
  const draftPreset = values["draft-preset"] ?? DRAFT_PRESETS[values.preset];
  const draft = draftPreset && draftPreset !== "none" ? await ensureModel(draftPreset) : undefined;
  if (draft) process.stdout.write(`${"draft".padEnd(13)} ${draft.dir}\n`);
  const [tokenizer, detokenizer, sampler, embedder] = await Promise.all([
    start("tokenizer", modelEnv),
    start("detokenizer", modelEnv),
    start("sampler", {}),
    embedding && start("embedder", { LLM_MODEL_DIR: embedding.dir, LLM_MODEL_ID: embedding.preset }),
  ]);
  // The sampler is co-located: logits go through a shared-memory ring (docs/OPERATIONS.md "Where to sample").
  // A metrics port (a free one) for `llm trace <request-id>`: the runner serves per-token timings there.
  const runner = await start("model-runner", {
    ...modelEnv,
    LLM_SAMPLER_URL: sampler,
    ...(existsSync(SHARED_MEMORY_DIR) ? { LLM_SAMPLER_RING_DIR: SHARED_MEMORY_DIR } : {}),
    LLM_METRICS_PORT: "0",
    LLM_SPECULATIVE: values.speculative,
    ...(draft ? { LLM_DRAFT_MODEL_DIR: draft.dir } : {}),
  });
  const runnerMetrics = (await running.at(-1)?.listening("model-runner-metrics")) ?? "";
  const gateway = await start("gateway", {
    LLM_TOKENIZER_URL: tokenizer,
    LLM_RUNNER_URL: runner,
    LLM_DETOKENIZER_URL: detokenizer,
    ...(embedder ? { LLM_EMBEDDER_URL: embedder } : {}),
  });
  // The gateway's OpenAI-compatible HTTP API (curl, the `openai` clients); README "OpenAI-compatible HTTP API".
  const http = (await running.at(-1)?.listening("gateway-http")) ?? "";
  process.stdout.write(`${"gateway-http".padEnd(13)} ${http}\n`);
  await writeEndpoints({
    gateway,
    "gateway-http": http,
    tokenizer,
    detokenizer,
    sampler,
    "model-runner": runner,
    "model-runner-metrics": runnerMetrics,
    ...(embedder ? { embedder } : {}),
  });
  process.stdout.write(`logs          ${LOG_DIR}\n`);

  const prompt = positionals.join(" ");
  if (prompt) {
    process.stdout.write(`\n${prompt}`);
    const result = await generate(
      {
        prompt: { case: "text", value: prompt },
        maxTokens: Number(values["max-tokens"]),
        sampling: {
          temperature: Number(values.temperature),
          seed: values.seed === undefined ? undefined : BigInt(values.seed),
        },
      },
      { gateway, onText: (text) => process.stdout.write(text) },
    );
    process.stdout.write(`\n[${result.finishReason}; ${result.usage.completionTokens} tokens]\n`);
  }
  if (values.exit) {
    await stopAll();
  } else {
    process.stdout.write(
      `\nready: npx llm generate "Once upon a time" --max-tokens 64 --timings   (Ctrl-C stops all)\n`,
    );
  }
} catch (err) {
  process.stderr.write(`npm start failed: ${err instanceof Error ? err.message : String(err)}\n`);
  await stopAll();
  process.exit(1);
}
