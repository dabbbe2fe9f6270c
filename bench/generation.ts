// The pipeline's generation throughput through the gateway (five real service processes, gRPC streaming),
// against transformers.js on the same requests and a raw ONNX Runtime greedy loop at the same batch size.
// Usage: npx tsx bench/generation.ts [--preset tiny|gpt2-small] [--concurrency 1,8,32,64] [--compare 16]
//          [--uniform-output N] [--ttft-rounds 2] [--seed 1] [--no-transformers] [--serve-preset tiny-append]
// Two workloads, all greedy, run level by level (each level's gateway and raw-loop runs back to back, so a
// change in the box's load hits both alike):
//  - varied: prompts of 16-512 tokens, outputs of 16-256, C clients each sending its next request when the
//    previous one ends (clients join over the first second). Every system gets the same requests; the first
//    `--compare` requests are run by transformers.js one by one and in padded static batches of 4, 8 and 16.
//  - uniform: C requests of the varied workload's mean prompt length and `--uniform-output` tokens (default: the
//    mean output) sent at once, through the gateway and through the raw loop (which needs equal lengths: no
//    padding), so the two do the same work. A shorter output keeps 32-64 streams affordable on a slow box.
// With 1 among the levels, the one-stream TTFT of each of the first `--compare` prompts (`--ttft-rounds` times) is
// compared with the raw prefill of the same prompt, and the inter-token latency with the raw batch-1 step.
// `--serve-preset` has the pipeline serve another folder of the same weights (e.g. the append KV layout, which
// transformers.js and the raw loop cannot run), while those two keep the `--preset` folder.
import { parseArgs } from "node:util";
import { generate, quantile } from "@llm/cli";
import { kvBytesPerToken, readModelConfig } from "@llm/engine";
import { type RunningService, startService } from "@llm/launcher";
import { ensureModel } from "@llm/model-pack";
import { Tokenizer } from "@llm/tokenizer";
import { buildMixedText, seededRandom } from "./corpus/corpus.js";
import { openRawModel, rawGreedy } from "./raw-loop.js";
import { loadTransformers, transformersGreedy } from "./transformers-baseline.js";

const { values } = parseArgs({
  options: {
    preset: { type: "string", default: "tiny" },
    "serve-preset": { type: "string" },
    concurrency: { type: "string", default: "1,8,32,64" },
    compare: { type: "string", default: "16" },
    "uniform-output": { type: "string" },
    "ttft-rounds": { type: "string", default: "2" },
    seed: { type: "string", default: "1" },
    "no-transformers": { type: "boolean", default: false },
  },
});
const concurrencies = values.concurrency.split(",").map(Number);
const compareCount = Number(values.compare);
const ttftRounds = Number(values["ttft-rounds"]);
const maxConcurrency = Math.max(...concurrencies);

interface BenchRequest {
  text: string;
  promptIds: number[];
  maxTokens: number;
}

const model = await ensureModel(values.preset);
const servedPreset = values["serve-preset"] ?? values.preset;
const served = await ensureModel(servedPreset);
const tokenizer = await Tokenizer.fromFile(model.dir);
const percentile = (xs: readonly number[], q: number) =>
  quantile(
    [...xs].sort((a, b) => a - b),
    q,
  );
const median = (xs: readonly number[]) => percentile(xs, 0.5);
const round = (x: number) => Math.round(x * 100) / 100;

/** `count` requests cut from generated mixed text (prose, code, JSON, CJK, emoji), seeded. */
function variedWorkload(count: number, seed: number): BenchRequest[] {
  const random = seededRandom(seed);
  const corpus = Array.from(tokenizer.encode(buildMixedText(256 * 1024, seed)));
  const between = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  return Array.from({ length: count }, () => {
    const length = between(16, 512);
    const at = between(0, corpus.length - length);
    const text = tokenizer.decode(corpus.slice(at, at + length));
    return { text, promptIds: Array.from(tokenizer.encode(text)), maxTokens: between(16, 256) };
  });
}

/** `count` distinct prompts of exactly `length` tokens (one common word per token), for equal-length batches. */
function uniformWorkload(count: number, length: number, maxTokens: number, seed: number): BenchRequest[] {
  const words = [" the", " of", " and", " to", " in", " is", " that", " for", " it", " as", " with", " on"];
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => {
    const text = Array.from({ length }, () => words[Math.floor(random() * words.length)]).join("");
    const promptIds = Array.from(tokenizer.encode(text));
    if (promptIds.length !== length) throw new Error(`uniform prompt encodes to ${promptIds.length} tokens`);
    return { text, promptIds, maxTokens };
  });
}

async function startPipeline(): Promise<{ gateway: string; services: RunningService[] }> {
  const config = await readModelConfig(served.dir);
  const modelEnv = { LLM_MODEL_DIR: served.dir, LLM_MODEL_ID: values.preset };
  const services: RunningService[] = [];
  const start = async (name: string, env: Record<string, string>) => {
    const service = await startService(`services/${name}/src/main.ts`, { name, env, timeoutMs: 120_000 });
    services.push(service);
    return service.address;
  };
  const [tokenizerUrl, detokenizerUrl, runnerUrl] = await Promise.all([
    start("tokenizer", modelEnv),
    start("detokenizer", modelEnv),
    start("model-runner", {
      ...modelEnv,
      LLM_MAX_BATCH_SIZE: String(maxConcurrency),
      // Room for every stream at the longest request, so the KV bound never throttles the benchmark.
      LLM_KV_CACHE_BYTES: String(maxConcurrency * config.contextLength * kvBytesPerToken(config)),
      LLM_PREFIX_CACHE_BYTES: "0", // runs repeat prompts; a cache hit would flatter the later ones
    }),
  ]);
  const gateway = await start("gateway", {
    LLM_TOKENIZER_URL: tokenizerUrl,
    LLM_RUNNER_URL: runnerUrl,
    LLM_DETOKENIZER_URL: detokenizerUrl,
  });
  return { gateway, services };
}

interface ClientRun {
  tokensPerSecond: number;
  tokens: number;
  ttftMs: number[];
  itlMs: number[];
}

/** `concurrency` clients working through `requests` in order; clients join over `rampMs`. */
async function throughGateway(
  gateway: string,
  requests: readonly BenchRequest[],
  concurrency: number,
  rampMs: number,
): Promise<ClientRun> {
  const run: ClientRun = { tokensPerSecond: 0, tokens: 0, ttftMs: [], itlMs: [] };
  let next = 0;
  const client = async (slot: number) => {
    await new Promise((resolve) => setTimeout(resolve, (slot * rampMs) / concurrency));
    while (next < requests.length) {
      const request = requests[next++];
      const result = await generate(
        { model: values.preset, prompt: { case: "text", value: request.text }, maxTokens: request.maxTokens },
        { gateway },
      );
      run.tokens += result.usage.completionTokens;
      result.arrivals.forEach((arrival, i) => {
        if (i === 0) run.ttftMs.push(arrival.atMs);
        else {
          // A delta can carry several tokens (a character split over them): share its gap among them.
          const gap = (arrival.atMs - result.arrivals[i - 1].atMs) / arrival.tokens;
          for (let t = 0; t < arrival.tokens; t++) run.itlMs.push(gap);
        }
      });
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, (_, slot) => client(slot)));
  run.tokensPerSecond = (run.tokens * 1000) / (performance.now() - started);
  return run;
}

const latency = (run: ClientRun) => ({
  ttftMsP50: round(median(run.ttftMs)),
  ttftMsP99: round(percentile(run.ttftMs, 0.99)),
  itlMsP50: round(median(run.itlMs)),
  itlMsP99: round(percentile(run.itlMs, 0.99)),
});

const varied = variedWorkload(Math.max(compareCount, maxConcurrency), Number(values.seed));
const meanPrompt = Math.round(varied.reduce((sum, r) => sum + r.promptIds.length, 0) / varied.length);
const meanOutput = Math.round(varied.reduce((sum, r) => sum + r.maxTokens, 0) / varied.length);
const uniformOutput = Number(values["uniform-output"] ?? meanOutput);
const raw = await openRawModel(model.dir);
const { gateway, services } = await startPipeline();
try {
  await throughGateway(gateway, varied.slice(0, 2), 2, 0); // warm-up: sessions, channels, JIT
  await rawGreedy(raw, [varied[0].promptIds], 4);

  const variedRuns = [];
  const uniformRuns = [];
  for (const concurrency of concurrencies) {
    const requests = varied.slice(0, Math.max(concurrency, compareCount));
    const run = await throughGateway(gateway, requests, concurrency, 1000);
    variedRuns.push({
      concurrency,
      requests: requests.length,
      tokens: run.tokens,
      tokensPerSecond: round(run.tokensPerSecond),
      ...latency(run),
    });
    console.error(`varied C=${concurrency}: ${round(run.tokensPerSecond)} tok/s`);

    const same = uniformWorkload(concurrency, meanPrompt, uniformOutput, concurrency);
    const pipeline = await throughGateway(gateway, same, concurrency, 0);
    const ceiling = await rawGreedy(
      raw,
      same.map((r) => r.promptIds),
      uniformOutput,
    );
    const rawTokensPerSecond = (ceiling.tokens * 1000) / ceiling.totalMs;
    uniformRuns.push({
      concurrency,
      promptTokens: meanPrompt,
      outputTokens: uniformOutput,
      gateway: { tokensPerSecond: round(pipeline.tokensPerSecond), ...latency(pipeline) },
      raw: {
        tokensPerSecond: round(rawTokensPerSecond),
        prefillMs: round(ceiling.prefillMs),
        stepMsP50: round(median(ceiling.stepMs)),
      },
      gatewayOverRaw: round(pipeline.tokensPerSecond / rawTokensPerSecond),
    });
    console.error(`uniform C=${concurrency}: gateway/raw ${round(pipeline.tokensPerSecond / rawTokensPerSecond)}`);
  }

  // One stream. TTFT: each prompt alone (max_tokens 1) against the raw prefill (forward + pick) of the same prompt
  // run right before and right after it, so load that changes over the run hits both alike. Inter-token
  // latency: the uniform one-stream run against the raw batch-1 step it ran back to back with.
  let oneStream: Record<string, number> | undefined;
  const alone = uniformRuns.find((r) => r.concurrency === 1);
  if (alone) {
    const rawPrefillMs = async (request: BenchRequest) => (await rawGreedy(raw, [request.promptIds], 1)).prefillMs;
    const ttftMs: number[] = [];
    const rawMs: number[] = [];
    for (let round = 0; round < ttftRounds; round++) {
      for (const request of varied.slice(0, compareCount)) {
        const before = await rawPrefillMs(request);
        const run = await throughGateway(gateway, [{ ...request, maxTokens: 1 }], 1, 0);
        const after = await rawPrefillMs(request);
        ttftMs.push(...run.ttftMs);
        rawMs.push((before + after) / 2);
      }
    }
    oneStream = {
      ttftSamples: ttftMs.length,
      ttftMsP50: round(median(ttftMs)),
      rawPrefillMsP50: round(median(rawMs)),
      ttftOverRawPrefill: round(median(ttftMs) / median(rawMs)),
      ttftOverRawPrefillPairedP50: round(median(ttftMs.map((ttft, i) => ttft / rawMs[i]))),
      itlMsP50: alone.gateway.itlMsP50,
      rawStepMsP50: alone.raw.stepMsP50,
      itlOverRawStep: round(alone.gateway.itlMsP50 / alone.raw.stepMsP50),
    };
  }

  let transformers: Record<string, unknown> | undefined;
  if (!values["no-transformers"]) {
    const requests = varied.slice(0, compareCount);
    const peer = await loadTransformers(model.dir);
    await transformersGreedy(peer, [{ promptIds: requests[0].promptIds, maxTokens: 2 }], 1); // warm-up
    const rate = (r: { tokens: number; totalMs: number }) => round((r.tokens * 1000) / r.totalMs);
    const oneByOne = rate(await transformersGreedy(peer, requests, 1));
    const batches: Record<string, number> = {};
    for (const size of [4, 8, 16].filter((size) => size <= compareCount)) {
      batches[size] = rate(await transformersGreedy(peer, requests, size));
    }
    const bestBatch = Math.max(...Object.values(batches));
    // Levels with more streams than `--compare` run more requests of the same mix (the first ones included).
    transformers = {
      requests: compareCount,
      oneByOneTokensPerSecond: oneByOne,
      staticBatchTokensPerSecond: batches,
      gatewayByLevel: variedRuns.map((r) => ({
        concurrency: r.concurrency,
        sameRequests: r.requests === compareCount,
        gatewayOverOneByOne: round(r.tokensPerSecond / oneByOne),
        gatewayOverBestStaticBatch: round(r.tokensPerSecond / bestBatch),
      })),
    };
  }

  console.log(
    JSON.stringify(
      {
        preset: values.preset,
        folders: { gateway: served.dir, rawLoopAndTransformers: model.dir },
        meanPrompt,
        meanOutput,
        varied: variedRuns,
        uniform: uniformRuns,
        oneStream,
        transformers,
      },
      null,
      2,
    ),
  );
} finally {
  for (const service of services.reverse()) await service.stop();
  await raw.session.release();
}
