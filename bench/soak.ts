// Soak: the services under a steady mixed load for a while, sampling every process's memory, to find growth per
// generated token and per request (a leak shows as a slope; design target: flat within noise, <= 1 KB/token).
//   local   (default): the five services as `npm start` runs them (runner -> sampler service over gRPC)
//   cluster: redis-server, tokenizer, detokenizer, sampler service, two runners and a gateway on Redis
// Load: --concurrency clients, each looping over a mix of gRPC Generate (streamed), GenerateUnary, HTTP streamed
// and HTTP whole completions; --cancel-fraction of the streams are cut mid-way (gRPC cancel, HTTP disconnect).
// Every --sample-s seconds: RSS (/proc/<pid>/status) and V8 heap + external memory (the metrics port's /memory,
// after a full GC: the services run with --expose-gc) of every process. After --warmup-fraction of the run, a
// least-squares slope of each against generated tokens and requests gives bytes/token and bytes/request.
// Run: npx tsx bench/soak.ts [--mode local|cluster] [--duration-s 180 | --tokens 500000] [--concurrency 16]
// Prints one JSON summary; writes the time series to --out (JSON) and the same path with .csv.
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { ensureModel } from "@llm/model-pack";
import { GenerationService } from "@llm/proto";
import { createClient } from "@llm/rpc";
import { type RunningService, startRedisServer, startService } from "@llm/testing";

const { values: args } = parseArgs({
  options: {
    mode: { type: "string", default: "local" },
    preset: { type: "string", default: "tiny" },
    "duration-s": { type: "string", default: "180" },
    tokens: { type: "string" },
    concurrency: { type: "string", default: "16" },
    "max-tokens": { type: "string", default: "32" },
    "cancel-fraction": { type: "string", default: "0.2" },
    "sample-s": { type: "string", default: "5" },
    "warmup-fraction": { type: "string", default: "0.25" },
    out: { type: "string", default: ".cache/soak.json" },
  },
});
const MODE = args.mode as "local" | "cluster";
const DURATION_MS = Number(args["duration-s"]) * 1000;
const TOKEN_TARGET = args.tokens === undefined ? Number.POSITIVE_INFINITY : Number(args.tokens);
const CONCURRENCY = Number(args.concurrency);
const MAX_TOKENS = Number(args["max-tokens"]);
const CANCEL_FRACTION = Number(args["cancel-fraction"]);

// --- the services ----------------------------------------------------------------------------------------

const processes: { name: string; pid: number; memory?: string }[] = [];
const services: RunningService[] = [];
const DEBUG_ENV = { NODE_OPTIONS: "--expose-gc", LLM_METRICS_PORT: "0" };

async function start(name: string, entry: string, env: Record<string, string>): Promise<RunningService> {
  const service = await startService(`services/${entry}/src/main.ts`, {
    name,
    env: { ...DEBUG_ENV, ...env },
    timeoutMs: 120_000,
  });
  services.push(service);
  const metrics = await service.listening(`${entry}-metrics`);
  processes.push({ name, pid: service.process.pid as number, memory: `http://${metrics}/memory` });
  return service;
}

const model = await ensureModel(args.preset as string);
const modelEnv = { LLM_MODEL_DIR: model.dir, LLM_MODEL_ID: args.preset as string };
const redis = MODE === "cluster" ? await startRedisServer() : undefined;
if (redis) processes.push({ name: "redis", pid: redis.process.pid as number });
const clusterEnv: Record<string, string> = redis ? { LLM_REDIS_URL: redis.url } : {};
const [tokenizer, detokenizer, sampler] = await Promise.all([
  start("tokenizer", "tokenizer", modelEnv),
  start("detokenizer", "detokenizer", modelEnv),
  start("sampler", "sampler", {}),
]);
const runnerEnv = { ...modelEnv, ...clusterEnv, LLM_SAMPLER_URL: sampler.address };
const runners =
  MODE === "cluster"
    ? [
        await start("runner-a", "model-runner", { ...runnerEnv, LLM_RUNNER_ID: "runner-a" }),
        await start("runner-b", "model-runner", { ...runnerEnv, LLM_RUNNER_ID: "runner-b" }),
      ]
    : [await start("model-runner", "model-runner", runnerEnv)];
const gateway = await start("gateway", "gateway", {
  ...clusterEnv,
  LLM_TOKENIZER_URL: tokenizer.address,
  LLM_DETOKENIZER_URL: detokenizer.address,
  LLM_MAX_INFLIGHT: String(CONCURRENCY * 2),
  ...(MODE === "local" ? { LLM_RUNNER_URL: runners[0].address } : {}),
});
const httpUrl = await gateway.listening("gateway-http");
const client = createClient(GenerationService, gateway.address);

// --- the load ---------------------------------------------------------------------------------------------

const counts = { tokens: 0, requests: 0, cancelled: 0, failed: 0 };
const failures = new Map<string, number>();
let stopping = false;
const prompts = ["Once upon a time", "The history of the city begins", "Dear friend, I write to you", "In the year"];

async function grpcStream(prompt: string, cancelAfter: number | undefined): Promise<void> {
  const controller = new AbortController();
  const request = { prompt: { case: "text" as const, value: prompt }, maxTokens: MAX_TOKENS, includeTokenIds: true };
  try {
    for await (const { event } of client.generate(request, { signal: controller.signal })) {
      if (event.case === "delta") counts.tokens += event.value.tokenIds.length;
      if (event.case === "delta" && cancelAfter !== undefined && event.value.index >= cancelAfter) {
        counts.cancelled++;
        controller.abort();
        return;
      }
    }
  } catch (err) {
    if (!controller.signal.aborted) throw err;
  }
}

async function grpcUnary(prompt: string): Promise<void> {
  const answer = await client.generateUnary({
    request: { prompt: { case: "text", value: prompt }, maxTokens: MAX_TOKENS },
  });
  counts.tokens += answer.usage?.completionTokens ?? 0;
}

async function httpCompletion(prompt: string, stream: boolean, cancelAfter: number | undefined): Promise<void> {
  const controller = new AbortController();
  const body = { prompt, max_tokens: MAX_TOKENS, stream, stream_options: stream ? { include_usage: true } : undefined };
  const response = await fetch(`${httpUrl}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: controller.signal,
  });
  if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${await response.text()}`);
  if (!stream) {
    counts.tokens += ((await response.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens;
    return;
  }
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  let chunks = 0;
  let text = "";
  for (;;) {
    const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
    if (done) break;
    text += new TextDecoder().decode(value);
    chunks = (text.match(/"text"/g) ?? []).length;
    if (cancelAfter !== undefined && chunks > cancelAfter) {
      counts.cancelled++;
      counts.tokens += chunks; // about one chunk per token
      controller.abort(); // a client disconnecting mid-stream
      return;
    }
  }
  counts.tokens += Number(/"completion_tokens":(\d+)/.exec(text)?.[1] ?? chunks);
}

async function clientLoop(id: number): Promise<void> {
  for (let n = 0; !stopping; n++) {
    const prompt = `${prompts[(id + n) % prompts.length]} (${id}.${n})`;
    const cancelAfter = Math.random() < CANCEL_FRACTION ? Math.floor(Math.random() * (MAX_TOKENS / 2)) : undefined;
    const kind = (id + n) % 4;
    try {
      if (kind === 0) await grpcStream(prompt, cancelAfter);
      else if (kind === 1) await grpcUnary(prompt);
      else await httpCompletion(prompt, kind === 2, kind === 2 ? cancelAfter : undefined);
      counts.requests++;
    } catch (err) {
      counts.failed++;
      const key = String((err as Error).message).slice(0, 120);
      failures.set(key, (failures.get(key) ?? 0) + 1);
    }
  }
}

// --- sampling ---------------------------------------------------------------------------------------------

interface Sample {
  t: number;
  tokens: number;
  requests: number;
  process: string;
  rss: number;
  heap: number | null;
  external: number | null;
}
const series: Sample[] = [];

function rssOf(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) * 1024;
}

async function sample(t0: number): Promise<void> {
  const at = { t: Math.round((performance.now() - t0) / 100) / 10, tokens: counts.tokens, requests: counts.requests };
  for (const { name, pid, memory } of processes) {
    const report = memory
      ? ((await fetch(memory)
          .then((r) => (r.ok ? r.json() : undefined))
          .catch(() => undefined)) as { heapUsed: number; external: number } | undefined)
      : undefined;
    series.push({
      ...at,
      process: name,
      rss: rssOf(pid),
      heap: report?.heapUsed ?? null,
      external: report?.external ?? null,
    });
  }
}

/** Least-squares slope of y against x. */
function slope(points: [number, number][]): number {
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return sxx === 0 ? 0 : sxy / sxx;
}

// --- run --------------------------------------------------------------------------------------------------

const t0 = performance.now();
const load = Array.from({ length: CONCURRENCY }, (_, i) => clientLoop(i));
await sample(t0);
while (performance.now() - t0 < DURATION_MS && counts.tokens < TOKEN_TARGET) {
  await new Promise((resolve) => setTimeout(resolve, Number(args["sample-s"]) * 1000));
  await sample(t0);
}
stopping = true;
await Promise.all(load);
await new Promise((resolve) => setTimeout(resolve, 2000)); // idle: what stays after the load is gone
await sample(t0);

const warm =
  series[Math.floor((series.length / processes.length) * Number(args["warmup-fraction"])) * processes.length].t;
const perProcess = Object.fromEntries(
  processes.map(({ name }) => {
    const rows = series.filter((s) => s.process === name && s.t >= warm);
    const live = rows.filter((s) => s.heap !== null).map((s) => ({ ...s, live: (s.heap ?? 0) + (s.external ?? 0) }));
    const first = rows[0];
    const last = rows[rows.length - 1];
    return [
      name,
      {
        rssMiB: { afterWarmup: mib(first.rss), end: mib(last.rss), max: mib(Math.max(...rows.map((s) => s.rss))) },
        rssBytesPerToken: Math.round(slope(rows.map((s) => [s.tokens, s.rss]))),
        rssBytesPerRequest: Math.round(slope(rows.map((s) => [s.requests, s.rss]))),
        liveBytesPerToken: live.length > 1 ? Math.round(slope(live.map((s) => [s.tokens, s.live]))) : null,
        liveBytesPerRequest: live.length > 1 ? Math.round(slope(live.map((s) => [s.requests, s.live]))) : null,
      },
    ];
  }),
);
function mib(bytes: number): number {
  return Math.round(bytes / 1024 ** 2);
}

const out = args.out as string;
writeFileSync(out, JSON.stringify(series));
writeFileSync(
  out.replace(/\.json$/, ".csv"),
  ["t,tokens,requests,process,rss,heap,external", ...series.map((s) => Object.values(s).join(","))].join("\n"),
);
console.log(
  JSON.stringify(
    {
      mode: MODE,
      preset: args.preset,
      seconds: Math.round((performance.now() - t0) / 1000),
      concurrency: CONCURRENCY,
      maxTokens: MAX_TOKENS,
      cancelFraction: CANCEL_FRACTION,
      ...counts,
      failures: Object.fromEntries(failures),
      warmupEndsAtS: warm,
      perProcess,
      series: out,
      machine: { cpus: cpus().length, loadavg: loadavg().map((l) => Number(l.toFixed(2))) },
    },
    null,
    2,
  ),
);

client.close();
for (const service of services.reverse()) await service.stop();
await redis?.stop();
