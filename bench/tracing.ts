// What tracing costs: aggregate tokens/s through the gateway at 32 concurrent streams with every service tracing
// every request (100% sampling, OTLP/HTTP protobuf export to a receiver in this process) against the same
// pipeline with tracing off. Both pipelines run side by side and are measured in alternation (off, on, off, on, …)
// so that the machine's load drifts the same way for both; the ratio is taken per pair.
// Usage: npx tsx bench/tracing.ts [--preset tiny] [--pairs 4] [--streams 32] [--requests 64] [--max-tokens 128]
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { generate, quantile } from "@llm/cli";
import { kvBytesPerToken, readModelConfig } from "@llm/engine";
import { type RunningService, startService } from "@llm/launcher";
import { ensureModel } from "@llm/model-pack";

const { values } = parseArgs({
  options: {
    preset: { type: "string", default: "tiny" },
    pairs: { type: "string", default: "4" },
    streams: { type: "string", default: "32" },
    requests: { type: "string", default: "64" },
    "max-tokens": { type: "string", default: "128" },
  },
});
const streams = Number(values.streams);
const requestsPerRun = Number(values.requests);
const maxTokens = Number(values["max-tokens"]);
const model = await ensureModel(values.preset);

/** An OTLP/HTTP endpoint that accepts everything: counts export requests and bytes, as a collector would take them. */
async function startReceiver() {
  const received = { requests: 0, bytes: 0, spanExports: 0 };
  const server = createServer((req, res) => {
    received.requests += 1;
    if (req.url === "/v1/traces") received.spanExports += 1;
    req.on("data", (chunk: Buffer) => {
      received.bytes += chunk.length;
    });
    req.on("end", () => res.writeHead(200, { "content-type": "application/x-protobuf" }).end());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received, server };
}

/** Tokenizer, detokenizer, runner and gateway; `telemetry` is added to every service's environment. */
async function startPipeline(telemetry: Record<string, string>) {
  const config = await readModelConfig(model.dir);
  const base = { OTEL_METRICS_EXPORTER: "none", ...telemetry }; // only traces differ between the two pipelines
  const modelEnv = { ...base, LLM_MODEL_DIR: model.dir, LLM_MODEL_ID: values.preset };
  const services: { name: string; service: RunningService }[] = [];
  const start = async (name: string, env: Record<string, string>) => {
    const service = await startService(`services/${name}/src/main.ts`, { name, env, timeoutMs: 120_000 });
    services.push({ name, service });
    return service.address;
  };
  const [tokenizer, detokenizer, runner] = await Promise.all([
    start("tokenizer", modelEnv),
    start("detokenizer", modelEnv),
    start("model-runner", {
      ...modelEnv,
      LLM_MAX_BATCH_SIZE: String(streams),
      LLM_KV_CACHE_BYTES: String(streams * config.contextLength * kvBytesPerToken(config)),
    }),
  ]);
  const gateway = await start("gateway", {
    ...base,
    LLM_TOKENIZER_URL: tokenizer,
    LLM_RUNNER_URL: runner,
    LLM_DETOKENIZER_URL: detokenizer,
  });
  return { gateway, services };
}

type Pipeline = Awaited<ReturnType<typeof startPipeline>>;

/** CPU time (user + system, ms) each service process has used so far, from /proc (clock ticks of 10 ms). */
function cpuMs(pipeline: Pipeline): Record<string, number> {
  const used: Record<string, number> = {};
  for (const { name, service } of pipeline.services) {
    const stat = readFileSync(`/proc/${service.process.pid}/stat`, "utf8");
    // Fields 14 and 15 (utime, stime), counted after the ")" that ends the command name.
    const [utime, stime] = stat
      .slice(stat.lastIndexOf(")") + 2)
      .split(" ")
      .slice(11, 13)
      .map(Number);
    used[name] = (utime + stime) * 10;
  }
  return used;
}

interface RunResult {
  tokensPerSecond: number;
  /** Per service: CPU ms per generated token, the cost tracing adds regardless of how busy the machine is. */
  cpuMsPerToken: Record<string, number>;
}

/** `streams` clients working through `requestsPerRun` requests; tokens/s over the whole run, CPU per token. */
async function run(pipeline: Pipeline, round: number): Promise<RunResult> {
  const { gateway } = pipeline;
  let next = 0;
  let tokens = 0;
  const client = async () => {
    while (next < requestsPerRun) {
      const i = next++;
      const result = await generate(
        {
          prompt: { case: "text", value: `Round ${round}, request ${i}: once upon a time, in a land far away,` },
          maxTokens,
          sampling: { temperature: 0.8, seed: BigInt(i) },
        },
        { gateway },
      );
      tokens += result.usage.completionTokens;
    }
  };
  const cpuBefore = cpuMs(pipeline);
  const started = performance.now();
  await Promise.all(Array.from({ length: streams }, client));
  const tokensPerSecond = (tokens * 1000) / (performance.now() - started);
  const cpuAfter = cpuMs(pipeline);
  const cpuMsPerToken = Object.fromEntries(
    Object.keys(cpuAfter).map((name) => [name, round3((cpuAfter[name] - cpuBefore[name]) / tokens)]),
  );
  return { tokensPerSecond, cpuMsPerToken };
}

const receiver = await startReceiver();
const off = await startPipeline({});
const on = await startPipeline({ LLM_OTLP_ENDPOINT: receiver.url, OTEL_TRACES_SAMPLER: "always_on" });
try {
  await run(off, -1); // warm-up: ORT sessions, gRPC channels, JIT
  await run(on, -1);
  const pairs: { off: RunResult; on: RunResult; ratio: number }[] = [];
  for (let pair = 0; pair < Number(values.pairs); pair++) {
    // Alternate which goes first, so neither always runs on the heels of the other.
    const [first, second] = pair % 2 === 0 ? [off, on] : [on, off];
    const results = new Map([
      [first, await run(first, pair)],
      [second, await run(second, pair)],
    ]);
    const [offRun, onRun] = [results.get(off) as RunResult, results.get(on) as RunResult];
    pairs.push({ off: offRun, on: onRun, ratio: round3(onRun.tokensPerSecond / offRun.tokensPerSecond) });
  }
  const median = (xs: number[]) =>
    quantile(
      [...xs].sort((a, b) => a - b),
      0.5,
    );
  const ratios = pairs.map((p) => p.ratio).sort((a, b) => a - b);
  const cpuMedians = (side: "off" | "on") =>
    Object.fromEntries(on.services.map(({ name }) => [name, median(pairs.map((p) => p[side].cpuMsPerToken[name]))]));
  process.stdout.write(
    `${JSON.stringify(
      {
        preset: values.preset,
        streams,
        requestsPerRun,
        maxTokens,
        pairs: pairs.map(({ off, on, ratio }) => ({
          offTokensPerSecond: Math.round(off.tokensPerSecond),
          onTokensPerSecond: Math.round(on.tokensPerSecond),
          ratio,
        })),
        offTokensPerSecondMedian: Math.round(median(pairs.map((p) => p.off.tokensPerSecond))),
        onTokensPerSecondMedian: Math.round(median(pairs.map((p) => p.on.tokensPerSecond))),
        ratioMedian: median(ratios),
        ratioRange: [ratios[0], ratios.at(-1)],
        cpuMsPerTokenMedian: { off: cpuMedians("off"), on: cpuMedians("on") },
        exported: receiver.received,
      },
      null,
      2,
    )}\n`,
  );
} finally {
  for (const { service } of [...on.services, ...off.services].reverse()) await service.stop();
  receiver.server.close();
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
