// End-to-end throughput of `npm start`'s pipeline (gateway → tokenizer → model-runner → detokenizer, each its
// own process) at 32 concurrent streams, by where the runner samples: in-process, a co-located sampler reading
// the shared-memory ring (what `npm start` runs), and the same sampler over the network (pruned rows). One
// tokenizer and detokenizer serve three gateway + runner stacks; rounds alternate the stacks, so load drift on
// the shared box hits all alike. Every stack must produce the same tokens (seeded sampling).
// Run: npx tsx bench/sampler-pipeline.ts [--preset demo] [--streams 32] [--max-tokens 48] [--rounds 3]
import { existsSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { generate } from "@llm/cli";
import { type RunningService, startService } from "@llm/launcher";
import { DEFAULT_PRESET, ensureModel } from "@llm/model-pack";

const { values } = parseArgs({
  options: {
    preset: { type: "string", default: DEFAULT_PRESET },
    streams: { type: "string", default: "32" },
    "max-tokens": { type: "string", default: "48" },
    rounds: { type: "string", default: "3" },
  },
});
const STREAMS = Number(values.streams);
const MAX_TOKENS = Number(values["max-tokens"]);
const ROUNDS = Number(values.rounds);
const RING_DIR = existsSync("/dev/shm") ? "/dev/shm" : undefined;
if (!RING_DIR) throw new Error("no /dev/shm here: the sidecar stack would not differ from the network one");

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (value: number, digits = 3) => Number(value.toPrecision(digits));

const model = await ensureModel(values.preset);
const modelEnv = { LLM_MODEL_DIR: model.dir, LLM_MODEL_ID: values.preset };
const services: RunningService[] = [];
const start = async (name: string, env: Record<string, string>) => {
  const service = await startService(`services/${name}/src/main.ts`, { name, env, timeoutMs: 120_000 });
  services.push(service);
  return service.address;
};

const STACKS: Record<string, (sampler: string) => Record<string, string>> = {
  inProcess: () => ({}),
  sidecar: (sampler) => ({ LLM_SAMPLER_URL: sampler, LLM_SAMPLER_RING_DIR: RING_DIR }),
  networkPruned: (sampler) => ({ LLM_SAMPLER_URL: sampler }),
};

/** Tokens per second of STREAMS concurrent seeded generations, and their token ids (to compare stacks). */
async function run(gateway: string): Promise<{ tokensPerSecond: number; ids: number[][] }> {
  const started = performance.now();
  const results = await Promise.all(
    Array.from({ length: STREAMS }, (_, i) =>
      generate(
        {
          model: values.preset,
          prompt: { case: "text", value: `Story ${i}: once upon a time, in a town by the sea,` },
          maxTokens: MAX_TOKENS,
          sampling: { temperature: 0.8, topP: 0.95, seed: BigInt(i + 1) },
        },
        { gateway },
      ),
    ),
  );
  const tokens = results.reduce((total, result) => total + result.usage.completionTokens, 0);
  return { tokensPerSecond: (tokens * 1000) / (performance.now() - started), ids: results.map((r) => r.tokenIds) };
}

try {
  const [tokenizer, detokenizer] = await Promise.all([start("tokenizer", modelEnv), start("detokenizer", modelEnv)]);
  const sampler = await start("sampler", {});
  const gateways: Record<string, string> = {};
  for (const [name, env] of Object.entries(STACKS)) {
    const runner = await start("model-runner", {
      ...modelEnv,
      ...env(sampler),
      LLM_MAX_BATCH_SIZE: String(STREAMS),
      LLM_PREFIX_CACHE_BYTES: "0",
    });
    gateways[name] = await start("gateway", {
      LLM_TOKENIZER_URL: tokenizer,
      LLM_RUNNER_URL: runner,
      LLM_DETOKENIZER_URL: detokenizer,
    });
  }
  const rates: Record<string, number[]> = Object.fromEntries(Object.keys(STACKS).map((name) => [name, []]));
  let reference: string | undefined;
  let sameTokens = true;
  for (const name of Object.keys(STACKS)) await run(gateways[name]); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    for (const name of Object.keys(STACKS)) {
      const { tokensPerSecond, ids } = await run(gateways[name]);
      rates[name].push(tokensPerSecond);
      reference ??= JSON.stringify(ids);
      sameTokens &&= JSON.stringify(ids) === reference;
      process.stderr.write(`round ${r} ${name}: ${round(tokensPerSecond)} tokens/s\n`);
    }
  }
  const inProcess = median(rates.inProcess);
  const result = {
    benchmark: "sampler-pipeline",
    preset: values.preset,
    streams: STREAMS,
    maxTokens: MAX_TOKENS,
    rounds: ROUNDS,
    machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavg1m: round(loadavg()[0]) },
    tokensPerSecondMedian: Object.fromEntries(Object.entries(rates).map(([name, xs]) => [name, round(median(xs))])),
    vsInProcess: Object.fromEntries(Object.entries(rates).map(([name, xs]) => [name, round(median(xs) / inProcess)])),
    sameTokens,
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} finally {
  for (const service of services.reverse()) await service.stop();
}
