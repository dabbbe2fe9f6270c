// Batch invariance of seeded sampling on the tiny model (real ONNX Runtime), in one process:
//  - noise: how far a row's logits batched (8 streams) are from the same row's logits alone, per KV layout, with
//    decode rows in one forward (padding period 1: the engine before) and grouped by the probed period (now); and
//    the logits of a continuation (prompt + delivered output prefilled, as after a takeover) vs the decode step's.
//  - flips: on those real alone/batched logit pairs (period 1), how often a seeded draw picks another token: the
//    exponential race (now) vs the inverse-CDF draw (before), each pair drawn with `--draws` seeds.
//  - cost: engine tokens/s at 1/8/32 streams, temperature 0.9 / top-p 0.95, before (period 1 + inverse CDF) vs
//    now (probed period + race), interleaved, median of `--rounds`.
// Usage: npx tsx bench/batch-invariance.ts [--draws 20] [--rounds 3] [--tokens 64]   (prints one JSON object)
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { Engine, type EngineSampler, engineSizing, inProcessSampler } from "@llm/engine";
import { silentLog } from "@llm/log";
import { ensureModel } from "@llm/model-pack";
import {
  createMassHistogram,
  createStrategyRegistry,
  Sampler,
  type SamplingParams,
  type SamplingStrategy,
  truncateTopP,
  weighVocabulary,
} from "@llm/sampling";

const { values } = parseArgs({
  options: {
    draws: { type: "string", default: "20" },
    rounds: { type: "string", default: "3" },
    tokens: { type: "string", default: "64" },
  },
});
const DRAWS = Number(values.draws);
const ROUNDS = Number(values.rounds);
const TOKENS = Number(values.tokens);
const VOCAB = 50257;
const SEEDED: SamplingParams = { temperature: 0.9, topP: 0.95 };
const round = (value: number, digits = 3) => Number(value.toPrecision(digits));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The draw sampling used before: one uniform against the cumulative mass of the top-p candidates. */
const inverseCdf: SamplingStrategy = {
  description: "temperature, top-p, inverse-CDF draw (the draw before batch-invariant sampling)",
  sample(ctx) {
    const { candidates } = ctx.workspace;
    const inverseT = 1 / ctx.params.temperature;
    weighVocabulary(ctx.logits, candidates, inverseT);
    truncateTopP(ctx.logits, candidates, inverseT, ctx.params.topP, createMassHistogram());
    const target = ctx.random() * candidates.totalWeight();
    let cumulative = 0;
    for (let i = 0; i < candidates.size; i++) {
      cumulative += candidates.weights[i];
      if (target < cumulative) return candidates.ids[i];
    }
    return candidates.ids[candidates.size - 1];
  },
};
const registry = () => createStrategyRegistry().register("cdf", inverseCdf);

const promptOf = (s: number) =>
  Array.from({ length: 5 + ((s * 3) % 17) }, (_, i) => (i * 7919 + s * 104729 + 13) % 50000);

/** The bench's engine: CPU, 32 slots and a 2 GiB KV budget (what it measured with before the registry held the defaults). */
function benchEngine<P>(modelDir: string, sampler: EngineSampler<P>, paddingPeriod: number | undefined) {
  return Engine.load({
    ...engineSizing({ LLM_EXECUTION_PROVIDERS: "cpu", LLM_KV_CACHE_BYTES: String(2 * 1024 ** 3) }),
    modelDir,
    sampler,
    log: silentLog,
    maxBatchSize: 32,
    paddingPeriod,
  });
}

/** Greedy generation of `streams` prompts (alone: one by one), recording every row's logits. */
async function recordLogits(preset: string, paddingPeriod: number | undefined, streams: number, batched: boolean) {
  const logits = new Map<string, Float32Array[]>();
  const argmax = (v: Float32Array) => v.reduce((best, x, i) => (x > v[best] ? i : best), 0);
  const sampler: EngineSampler<unknown> = {
    open: (id) => {
      logits.set(id, []);
      return { verifies: false };
    },
    sample: (batch) =>
      batch.map(({ seqId, logits: row }) => {
        logits.get(seqId)?.push(new Float32Array(row));
        return { tokenId: argmax(row) };
      }),
    close: () => {},
  };
  const modelDir = (await ensureModel(preset)).dir;
  const engine = await benchEngine(modelDir, sampler, paddingPeriod);
  const run = async (id: string, promptIds: number[], maxTokens: number, outputIds: number[] = []) => {
    const tokens: number[] = [];
    for await (const event of engine.submit({ requestId: id, promptIds, outputIds, maxTokens, sampling: {} })) {
      if (event.type === "token") tokens.push(event.tokenId);
    }
    return tokens;
  };
  const outputs: number[][] = [];
  if (batched)
    outputs.push(...(await Promise.all(Array.from({ length: streams }, (_, s) => run(`r${s}`, promptOf(s), TOKENS)))));
  else for (let s = 0; s < streams; s++) outputs.push(await run(`r${s}`, promptOf(s), TOKENS));
  // A takeover at half-way: prompt + the first half of the output prefilled, one token.
  const half = TOKENS / 2;
  for (let s = 0; s < streams; s++) await run(`c${s}`, promptOf(s), half + 1, outputs[s].slice(0, half));
  await engine.close();
  return { logits, half };
}

function difference(a: Float32Array, b: Float32Array) {
  let max = 0;
  let squares = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    max = Math.max(max, d);
    squares += d * d;
  }
  return { max, rms: Math.sqrt(squares / a.length) };
}

async function noise(preset: string, paddingPeriod: number | undefined, streams = 8) {
  const alone = await recordLogits(preset, paddingPeriod, streams, false);
  const batched = await recordLogits(preset, paddingPeriod, streams, true);
  const pairs: [Float32Array, Float32Array][] = [];
  let differing = 0;
  let maxAbs = 0;
  const rms: number[] = [];
  const continuation: number[] = [];
  for (let s = 0; s < streams; s++) {
    const a = alone.logits.get(`r${s}`) ?? [];
    const b = batched.logits.get(`r${s}`) ?? [];
    for (let i = 1; i < TOKENS; i++) {
      const d = difference(a[i], b[i]);
      if (d.max > 0) differing++;
      maxAbs = Math.max(maxAbs, d.max);
      rms.push(d.rms);
      pairs.push([a[i], b[i]]);
    }
    const resumed = alone.logits.get(`c${s}`)?.[0] as Float32Array;
    continuation.push(difference(a[alone.half], resumed).rms);
  }
  return {
    result: {
      preset,
      paddingPeriod: paddingPeriod ?? "probed",
      decodeRows: pairs.length,
      rowsNotBitwiseEqual: differing,
      maxAbsDiff: maxAbs,
      medianRms: round(median(rms)),
      continuationVsDecodeMedianRms: round(median(continuation)),
    },
    pairs,
  };
}

/** Per strategy: the fraction of (pair, seed) draws where the two logits of a pair gave different tokens. */
function flipRates(pairs: [Float32Array, Float32Array][]) {
  const sampler = new Sampler({ vocabSize: VOCAB, registry: registry() });
  const rates: Record<string, number> = {};
  let id = 0;
  for (const strategy of ["standard", "cdf"]) {
    let flips = 0;
    for (const [a, b] of pairs) {
      for (let seed = 0; seed < DRAWS; seed++) {
        const open = { seed, params: { ...SEEDED, strategy } };
        if (sampler.open(id++, open).sample(a).tokenId !== sampler.open(id++, open).sample(b).tokenId) flips++;
        sampler.close(id - 1);
        sampler.close(id - 2);
      }
    }
    rates[strategy === "standard" ? "race" : "inverseCdf"] = flips / (pairs.length * DRAWS);
  }
  return { draws: pairs.length * DRAWS, flipsPerToken: rates };
}

/** Engine tokens/s for `streams` seeded streams of TOKENS tokens, all submitted at once. */
async function tokensPerSecond(streams: number, before: boolean): Promise<number> {
  const sampler = inProcessSampler(new Sampler({ vocabSize: VOCAB, registry: registry() }));
  const modelDir = (await ensureModel("tiny")).dir;
  const engine = await benchEngine(modelDir, sampler, before ? 1 : undefined);
  const sampling = { ...SEEDED, strategy: before ? "cdf" : "standard" };
  const started = performance.now();
  await Promise.all(
    Array.from({ length: streams }, async (_, s) => {
      const request = {
        requestId: `s${s}`,
        promptIds: promptOf(s),
        maxTokens: TOKENS,
        sampling: { ...sampling, seed: s },
        ignoreEos: true,
      };
      for await (const _event of engine.submit(request));
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await engine.close();
  return (streams * TOKENS) / seconds;
}

const loadBefore = loadavg()[0];
const standardBefore = await noise("tiny", 1);
const results = {
  bench: "batch-invariance",
  tokensPerStream: TOKENS,
  noise: [
    standardBefore.result,
    (await noise("tiny", undefined)).result,
    (await noise("tiny-append", undefined)).result,
  ],
  flips: flipRates(standardBefore.pairs),
  cost: [] as unknown[],
  load: [] as number[],
};
for (const streams of [1, 8, 32]) {
  const before: number[] = [];
  const now: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    before.push(await tokensPerSecond(streams, true));
    now.push(await tokensPerSecond(streams, false));
  }
  const [b, n] = [median(before), median(now)];
  results.cost.push({ streams, beforeTokensPerS: round(b), nowTokensPerS: round(n), nowOverBefore: round(n / b) });
}
results.load = [round(loadBefore), round(loadavg()[0])];
console.log(JSON.stringify(results, null, 2));
