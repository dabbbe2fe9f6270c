// The engine on the standard folder vs the same weights in another KV layout (default: append), same requests,
// same run, interleaved: `batch` greedy streams submitted at once, prompts of `prompt` tokens, `tokens` each
// (ignore EOS), prefix cache off. Reports decode tokens/s (after the last first token) and inter-token p50.
// Usage: npx tsx bench/engine-kv-layout.ts [--preset gpt2-small] [--layout append] [--batch 8] [--prompt 128]
//        [--tokens 32] [--runs 3]
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { Engine, engineSizing, inProcessSampler } from "@llm/engine";
import { jsonLog } from "@llm/log";
import { ensureModel } from "@llm/model-pack";
import { Sampler, type SamplingParams } from "@llm/sampling";

const { values } = parseArgs({
  options: {
    preset: { type: "string", default: "gpt2-small" },
    layout: { type: "string", default: "append" },
    batch: { type: "string", default: "8" },
    prompt: { type: "string", default: "128" },
    tokens: { type: "string", default: "32" },
    runs: { type: "string", default: "3" },
  },
});
const [batch, promptLength, newTokens, runs] = [values.batch, values.prompt, values.tokens, values.runs].map(Number);
const prompts = Array.from({ length: batch }, (_, b) =>
  Array.from({ length: promptLength }, (_, i) => (i * 7919 + b * 104_729 + 13) % 50_000),
);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (value: number, digits = 3) => Number(value.toPrecision(digits));

async function load(preset: string): Promise<Engine<SamplingParams>> {
  return Engine.load({
    ...engineSizing({ LLM_EXECUTION_PROVIDERS: "cpu", LLM_KV_CACHE_BYTES: String(2 * 1024 ** 3) }),
    modelDir: (await ensureModel(preset)).dir,
    sampler: inProcessSampler(new Sampler({ vocabSize: 50_257 })),
    maxBatchSize: batch,
    maxStepTokens: Math.max(batch * promptLength + batch, 512),
    prefillChunkTokens: promptLength,
    prefixCacheBytes: 0,
    log: jsonLog("warn"),
  });
}

/** One run of every prompt at once: decode tokens/s after the last first token, inter-token p50, and the tokens. */
async function run(engine: Engine<SamplingParams>, tag: string) {
  const itl: number[] = [];
  const firstAt: number[] = [];
  const tokens = await Promise.all(
    prompts.map(async (promptIds, b) => {
      const ids: number[] = [];
      const request = { promptIds, maxTokens: newTokens, sampling: { temperature: 0 }, ignoreEos: true };
      for await (const e of engine.submit({ requestId: `${tag}-${b}`, ...request })) {
        if (e.type !== "token") continue;
        ids.push(e.tokenId);
        if (e.index === 0) firstAt.push(performance.now());
        else itl.push(e.timing.sincePreviousMs);
      }
      return ids;
    }),
  );
  const decodeMs = performance.now() - Math.max(...firstAt);
  return { tokensPerSecond: (batch * (newTokens - 1) * 1000) / decodeMs, itlP50: median(itl), tokens };
}

const variant = `${values.preset}-${values.layout}`;
const standard = await load(values.preset);
const other = await load(variant);
const loadBefore = loadavg()[0];
await run(standard, "warm-standard");
await run(other, "warm-other");
const results: Record<string, Awaited<ReturnType<typeof run>>[]> = { standard: [], [values.layout]: [] };
for (let r = 0; r < runs; r++) {
  results.standard.push(await run(standard, `s${r}`));
  results[values.layout].push(await run(other, `o${r}`));
}
const summary = (rs: Awaited<ReturnType<typeof run>>[]) => ({
  decodeTokensPerSecond: round(median(rs.map((r) => r.tokensPerSecond))),
  rangeTokensPerSecond: [
    round(Math.min(...rs.map((r) => r.tokensPerSecond))),
    round(Math.max(...rs.map((r) => r.tokensPerSecond))),
  ],
  itlP50Ms: round(median(rs.map((r) => r.itlP50))),
});
const [s, o] = [summary(results.standard), summary(results[values.layout])];
const sameTokens = results.standard.every(
  (r, i) => JSON.stringify(r.tokens) === JSON.stringify(results[values.layout][i].tokens),
);
console.log(
  JSON.stringify(
    {
      preset: values.preset,
      variant,
      batch,
      promptLength,
      newTokens,
      runs,
      loadBefore: round(loadBefore),
      loadAfter: round(loadavg()[0]),
      standard: s,
      [values.layout]: o,
      speedup: round(o.decodeTokensPerSecond / s.decodeTokensPerSecond),
      sameTokens,
    },
    null,
    2,
  ),
);
await standard.close();
await other.close();
