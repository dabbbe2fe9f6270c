// Speculative decoding on the trained demo pair (demo + demo-draft), in-process engine, modes interleaved per run:
//  - single stream: decode tokens/s and inter-token latency without speculation, with n-gram proposals and with
//    the draft model, on a copy-heavy workload (the prompt gives a passage, then asks for it again: greedy) and on
//    open-ended continuation (greedy, and seeded sampling at temperature 0.8);
//  - aggregate tokens/s at 1, 4, 16 and 64 concurrent streams (open-ended), with the default load-aware policy and
//    with its choice of k but none of its gates, at every batch size (where the crossover is).
// Ratios are against plain decoding in the same run. Usage:
//   npx tsx bench/speculative.ts [--runs 3] [--tokens 48] [--streams 1,4,16,64] [--threads 1]
//     [--target demo] [--draft demo-draft]   (their -append variants: the KV layout that rolls back in place)
import { cpus, loadavg } from "node:os";
import { parseArgs } from "node:util";
import {
  DraftModel,
  Engine,
  engineSizing,
  inProcessSampler,
  loadAwarePolicy,
  type SpeculationOptions,
  type SpeculativeMode,
} from "@llm/engine";
import { silentLog } from "@llm/log";
import { ensureModel } from "@llm/model-pack";
import { Sampler, type SamplingParams } from "@llm/sampling";
import { Tokenizer } from "@llm/tokenizer";
import { median } from "./engine-run.js";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    tokens: { type: "string", default: "48" },
    streams: { type: "string", default: "1,4,16,64" },
    threads: { type: "string", default: "1" },
    target: { type: "string", default: "demo" },
    draft: { type: "string", default: "demo-draft" },
  },
});
const runs = Number(values.runs);
const newTokens = Number(values.tokens);
const threads = Number(values.threads);

// Public-domain passages (King James Bible, what the demo pair was trained on).
const PASSAGES = [
  "In the beginning God created the heaven and the earth. And the earth was without form, and void; and darkness was upon the face of the deep.",
  "The LORD is my shepherd; I shall not want. He maketh me to lie down in green pastures: he leadeth me beside the still waters.",
  "To every thing there is a season, and a time to every purpose under the heaven: A time to be born, and a time to die.",
  "In the beginning was the Word, and the Word was with God, and the Word was God. The same was in the beginning with God.",
];

const [target, draftDir] = await Promise.all([ensureModel(values.target), ensureModel(values.draft)]);
const tokenizer = await Tokenizer.fromFile(target.dir);
const encode = (text: string) => Array.from(tokenizer.encode(text));
/** The passage, then its first words again: the continuation can copy it. */
const copyPrompts = PASSAGES.map((p) => encode(`${p}\n\n${p.split(" ").slice(0, 3).join(" ")}`));
const openPrompts = PASSAGES.map((p) => encode(p.split(". ")[0]));
const GREEDY: SamplingParams = { temperature: 0 };
const sampled = (seed: number): SamplingParams => ({ temperature: 0.8, topP: 0.95, seed });

const loadDraft = () => DraftModel.load({ modelDir: draftDir.dir, providers: ["cpu"], log: silentLog }, 4096);
async function engineWith(speculation?: SpeculationOptions) {
  return Engine.load({
    ...engineSizing({ LLM_EXECUTION_PROVIDERS: "cpu", LLM_MAX_BATCH_SIZE: "64", LLM_MAX_STEP_TOKENS: "2048" }),
    modelDir: target.dir,
    sampler: inProcessSampler(new Sampler({ vocabSize: 4096 })),
    intraOpThreads: threads,
    log: silentLog,
    speculation,
  });
}
const defaultPolicy = await engineWith({ draft: await loadDraft() });
// The default's choice of k without its gates (batch cap, padding period, measured speed): where the crossover is.
const ungatedK = loadAwarePolicy({ maxLookahead: 4, maxBatchSize: 1_000 });
const alwaysOn = await engineWith({
  draft: await loadDraft(),
  policy: { lookahead: (step) => ungatedK.lookahead(step) },
});

interface Measured {
  tokens: number;
  decodeMs: number;
  wallMs: number;
  gaps: number[];
  proposed: number;
  accepted: number;
}

/** Requests submitted together; decode time runs from the last first token to the end. */
async function measure(
  engine: Engine<SamplingParams>,
  prompts: number[][],
  sampling: (i: number) => SamplingParams,
  speculative: SpeculativeMode,
  tag: string,
): Promise<Measured> {
  const started = performance.now();
  const firsts: number[] = [];
  const gaps: number[] = [];
  let proposed = 0;
  let accepted = 0;
  const counts = await Promise.all(
    prompts.map(async (promptIds, i) => {
      let count = 0;
      const request = { requestId: `${tag}-${i}`, promptIds, maxTokens: newTokens, sampling: sampling(i), speculative };
      for await (const event of engine.submit({ ...request, ignoreEos: true })) {
        if (event.type === "final") {
          if (event.error) throw event.error;
          proposed += event.usage.proposedTokens ?? 0;
          accepted += event.usage.acceptedTokens ?? 0;
        } else {
          count++;
          if (event.index === 0) firsts.push(performance.now());
          else gaps.push(event.timing.sincePreviousMs);
        }
      }
      return count;
    }),
  );
  const end = performance.now();
  const tokens = counts.reduce((a, b) => a + b, 0);
  return { tokens, decodeMs: end - Math.max(...firsts), wallMs: end - started, gaps, proposed, accepted };
}

const MODES: SpeculativeMode[] = ["off", "ngram", "draft"];
const round = (value: number, digits = 3) => Number(value.toPrecision(digits));

/** Single stream: each prompt alone, one after another; tokens/s over decode time, ITL mean and p50. */
async function singleStream(prompts: number[][], sampling: (i: number) => SamplingParams) {
  const perMode: Record<string, { tps: number[]; itlMean: number[]; itlP50: number[]; acceptance: number[] }> = {};
  for (let run = 0; run < runs; run++) {
    for (const mode of MODES) {
      let tokens = 0;
      let decodeMs = 0;
      let proposed = 0;
      let accepted = 0;
      const gaps: number[] = [];
      for (const [i, prompt] of prompts.entries()) {
        const m = await measure(defaultPolicy, [prompt], () => sampling(i), mode, `s${run}${mode}${i}`);
        tokens += m.tokens - 1;
        decodeMs += m.decodeMs;
        gaps.push(...m.gaps);
        proposed += m.proposed;
        accepted += m.accepted;
      }
      perMode[mode] = perMode[mode] ?? { tps: [], itlMean: [], itlP50: [], acceptance: [] };
      const entry = perMode[mode];
      entry.tps.push((tokens * 1000) / decodeMs);
      entry.itlMean.push(decodeMs / tokens);
      entry.itlP50.push(median(gaps));
      entry.acceptance.push(proposed > 0 ? accepted / proposed : 0);
    }
  }
  const plain = median(perMode.off.tps);
  return Object.fromEntries(
    MODES.map((mode) => {
      const entry = perMode[mode];
      return [
        mode,
        {
          tokensPerSecond: round(median(entry.tps)),
          vsPlain: round(median(entry.tps) / plain),
          itlMeanMs: round(median(entry.itlMean)),
          itlP50Ms: round(median(entry.itlP50)),
          acceptanceRate: round(median(entry.acceptance)),
        },
      ];
    }),
  );
}

/** S concurrent open-ended streams; aggregate tokens/s over wall time, per mode and policy. */
async function aggregate(streams: number) {
  const prompts = Array.from({ length: streams }, (_, i) => openPrompts[i % openPrompts.length]);
  const variants = [
    { name: "off", engine: defaultPolicy, mode: "off" as const },
    ...(["ngram", "draft"] as const).flatMap((mode) => [
      { name: mode, engine: defaultPolicy, mode },
      { name: `${mode}, ungated`, engine: alwaysOn, mode },
    ]),
  ];
  const tps: Record<string, number[]> = {};
  const acceptance: Record<string, number[]> = {};
  for (let run = 0; run < runs; run++) {
    for (const { name, engine, mode } of variants) {
      const m = await measure(engine, prompts, (i) => sampled(i + run * 1000), mode, `a${streams}${run}${name}`);
      tps[name] = [...(tps[name] ?? []), (m.tokens * 1000) / m.wallMs];
      acceptance[name] = [...(acceptance[name] ?? []), m.proposed > 0 ? m.accepted / m.proposed : 0];
    }
  }
  const plain = median(tps.off);
  return Object.fromEntries(
    variants.map(({ name }) => [
      name,
      {
        tokensPerSecond: round(median(tps[name])),
        vsPlain: round(median(tps[name]) / plain),
        acceptanceRate: round(median(acceptance[name])),
      },
    ]),
  );
}

// Warm-up: every path once.
await measure(alwaysOn, copyPrompts, () => GREEDY, "draft", "warm-d");
await measure(alwaysOn, copyPrompts, () => GREEDY, "ngram", "warm-n");

const result = {
  bench: "speculative",
  model: `${values.target} + ${values.draft}`,
  cpu: cpus()[0]?.model,
  cores: cpus().length,
  loadBefore: round(loadavg()[0]),
  runs,
  newTokens,
  threads,
  singleStream: {
    copyHeavyGreedy: await singleStream(copyPrompts, () => GREEDY),
    openEndedGreedy: await singleStream(openPrompts, () => GREEDY),
    openEndedSampled: await singleStream(openPrompts, (i) => sampled(i)),
  },
  aggregateOpenEnded: Object.fromEntries(
    await values.streams
      .split(",")
      .map(Number)
      .reduce(
        async (done, streams) => [...(await done), [String(streams), await aggregate(streams)] as const],
        Promise.resolve([] as (readonly [string, unknown])[]),
      ),
  ),
  loadAfter: round(loadavg()[0]),
};
console.log(JSON.stringify(result, null, 2));
await Promise.all([defaultPolicy.close(), alwaysOn.close()]);
