// Cold start of a model-runner in cluster mode, as when its model's runners were scaled to zero: one request
// waits on the queue, then a runner process starts. Measured from the spawn to the request's first token at the
// consumer (the gateway's dispatcher, in this process), split at the runner's own milestones: its first log line
// (node, tsx and the modules loaded, telemetry up, the first execution provider tried), its ONNX session created,
// its gRPC server listening, the first token (queue worker ready, job fetched, prefill, first step). Variants of
// the start, alternated round by round:
//   default   as shipped: LLM_EXECUTION_PROVIDERS cuda,webgpu,cpu (the first two fail on this CPU-only box),
//             tsx's transpile cache filled by an earlier start
//   tsx-cold  TSX_DISABLE_CACHE=1: every module transpiled again, as in a fresh container (the image runs tsx)
//   cpu-only  LLM_EXECUTION_PROVIDERS=cpu: no attempt at providers this node does not have
// Beside it, in this process, ONNX Runtime session creation alone for the same model file, by graph optimization
// level, and from a model already optimized offline (`optimizedModelFilePath`, then loaded without optimizing).
// Run: npx tsx bench/cold-start.ts [--models tiny,gpt2-small] [--rounds 3]   (starts its own redis-server)
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ensureModel } from "@llm/model-pack";
import { create, GenerateRequestSchema, ModelRunnerServiceGenerateRequestSchema } from "@llm/proto";
import { connectDispatcher, startRedisServer, startService } from "@llm/testing";
import * as ort from "onnxruntime-node";

const { values } = parseArgs({
  options: { models: { type: "string", default: "tiny,gpt2-small" }, rounds: { type: "string", default: "3" } },
});
const MODELS = (values.models ?? "").split(",") as ("tiny" | "gpt2-small")[];
const ROUNDS = Number(values.rounds);
const VARIANTS = {
  default: {},
  "tsx-cold": { TSX_DISABLE_CACHE: "1" },
  "cpu-only": { LLM_EXECUTION_PROVIDERS: "cpu" },
} as const;
type Variant = keyof typeof VARIANTS;

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return Math.round(sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN);
};

const redis = await startRedisServer();
const dispatcher = await connectDispatcher(redis.url);

let sequence = 0;
/** One request queued with no runner; resolves with the time its first token arrived. */
function queuedRequest(modelId: string): Promise<number> {
  const requestId = `cold-${sequence++}`;
  const request = create(ModelRunnerServiceGenerateRequestSchema, {
    requestId,
    model: modelId,
    promptTokenIds: Array.from({ length: 32 }, (_, i) => (i * 7919 + 13) % 50_000),
    maxTokens: 4,
    ignoreEos: true,
    sampling: { temperature: 0 },
  });
  const admitted = create(GenerateRequestSchema, { requestId, model: modelId });
  const signal = new AbortController().signal;
  return (async () => {
    let first = 0;
    for await (const { event } of dispatcher.generate(request, admitted, { signal })) {
      if (event.case === "token" && first === 0) first = performance.now();
    }
    return first;
  })();
}

/** Spawns a runner for a request already waiting; the milestones in ms since the spawn. */
async function coldStart(modelId: string, dir: string, variant: Variant) {
  const firstToken = queuedRequest(modelId);
  await new Promise((resolve) => setTimeout(resolve, 200)); // the job is on the queue before any runner
  let firstLogAt = 0;
  let sessionAt = 0;
  const spawned = performance.now();
  const runner = await startService("services/model-runner/src/main.ts", {
    name: "model-runner",
    env: { LLM_MODEL_DIR: dir, LLM_MODEL_ID: modelId, LLM_REDIS_URL: redis.url, ...VARIANTS[variant] },
    timeoutMs: 300_000,
    onStderr: (chunk) => {
      firstLogAt ||= performance.now();
      if (sessionAt === 0 && chunk.includes("onnx session for")) sessionAt = performance.now();
    },
  });
  const listeningAt = performance.now(); // listening and SERVING
  const tokenAt = await firstToken;
  await runner.stop(10_000);
  return {
    firstLogMs: firstLogAt - spawned,
    sessionMs: sessionAt - spawned,
    listeningMs: listeningAt - spawned,
    firstTokenMs: tokenAt - spawned,
  };
}

/** ORT session creation alone, by optimization level, and from an offline-optimized model file. */
async function sessionCreation(modelPath: string) {
  const scratch = mkdtempSync(join(tmpdir(), "llm-cold-"));
  const optimized = join(scratch, "optimized.onnx");
  const timed = async (path: string, options: ort.InferenceSession.SessionOptions) => {
    const ms: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const start = performance.now();
      const session = await ort.InferenceSession.create(path, {
        executionProviders: ["cpu"],
        logSeverityLevel: 3,
        ...options,
      });
      ms.push(performance.now() - start);
      await session.release();
    }
    return median(ms);
  };
  try {
    const all = await timed(modelPath, { graphOptimizationLevel: "all" }); // what the runner does
    const basic = await timed(modelPath, { graphOptimizationLevel: "basic" });
    const disabled = await timed(modelPath, { graphOptimizationLevel: "disabled" });
    await (
      await ort.InferenceSession.create(modelPath, {
        executionProviders: ["cpu"],
        logSeverityLevel: 3, // its warning: an "all"-optimized file suits only the hardware it was made on
        graphOptimizationLevel: "all",
        optimizedModelFilePath: optimized,
      })
    ).release();
    const preOptimized = await timed(optimized, { graphOptimizationLevel: "disabled" });
    return { optAllMs: all, optBasicMs: basic, optDisabledMs: disabled, preOptimizedMs: preOptimized };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

const results: Record<string, unknown> = {};
try {
  for (const modelId of MODELS) {
    const { dir } = await ensureModel(modelId);
    await coldStart(modelId, dir, "default"); // fills tsx's cache and the OS page cache of the model file
    const runs = Object.fromEntries(Object.keys(VARIANTS).map((v) => [v, []])) as unknown as Record<
      Variant,
      Awaited<ReturnType<typeof coldStart>>[]
    >;
    for (let round = 0; round < ROUNDS; round++) {
      for (const variant of Object.keys(VARIANTS) as Variant[])
        runs[variant].push(await coldStart(modelId, dir, variant));
    }
    const summary = Object.fromEntries(
      Object.entries(runs).map(([variant, list]) => [
        variant,
        Object.fromEntries(Object.keys(list[0] ?? {}).map((k) => [k, median(list.map((r) => r[k as "firstTokenMs"]))])),
      ]),
    );
    const session = await sessionCreation(join(dir, "onnx", "model.onnx"));
    const firstToken = (variant: Variant) => (summary[variant] as { firstTokenMs: number }).firstTokenMs;
    const overDefault = (variant: Variant) => Number((firstToken(variant) / firstToken("default")).toFixed(2));
    results[modelId] = {
      processStartToFirstToken: summary,
      firstTokenOverDefault: { "tsx-cold": overDefault("tsx-cold"), "cpu-only": overDefault("cpu-only") },
      ortSessionCreate: session,
      preOptimizedOverAll: Number((session.preOptimizedMs / session.optAllMs).toFixed(2)),
    };
  }
} finally {
  await dispatcher.close();
  await redis.stop();
}

console.log(
  JSON.stringify(
    { rounds: ROUNDS, cpus: cpus().length, loadavg: loadavg().map((l) => Number(l.toFixed(2))), results },
    null,
    2,
  ),
);
