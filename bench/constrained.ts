// Constrained decoding's cost, in-process: decode tokens/s of the engine with a typical JSON schema vs
// unconstrained at 1 and 32 streams (same engine, same run, alternating), and grammar compile time of a
// 20-property schema cold (fresh compiler, with and without the time-limit probe) and cached.
// Usage: npx tsx bench/constrained.ts [--preset tiny] [--tokens 48] [--runs 3]
import { parseArgs } from "node:util";
import { Engine, engineSizing, inProcessSampler, readModelConfig } from "@llm/engine";
import { jsonLog } from "@llm/log";
import { ensureModel } from "@llm/model-pack";
import { ConstraintCompiler, type GrammarVocabulary, Sampler, type SamplingParams } from "@llm/sampling";
import { Tokenizer } from "@llm/tokenizer";
import { median } from "./engine-run.js";

const { values } = parseArgs({
  options: {
    preset: { type: "string", default: "tiny" },
    tokens: { type: "string", default: "48" },
    runs: { type: "string", default: "3" },
  },
});
const newTokens = Number(values.tokens);
const runs = Number(values.runs);
const dir = (await ensureModel(values.preset)).dir;
const { vocabSize, eosTokenIds } = await readModelConfig(dir);
const tokenizer = await Tokenizer.fromFile(`${dir}/tokenizer.json`);
const vocabulary: GrammarVocabulary = {
  id: values.preset,
  tokens: tokenizer.grammarTokens(),
  stopTokenIds: eosTokenIds,
  vocabSize,
};

/** An extraction schema: free strings, a number, an enum, a boolean, a list (strict-mode shape). */
const TYPICAL = {
  type: "object",
  properties: {
    name: { type: "string" },
    email: { type: "string" },
    score: { type: "number" },
    status: { enum: ["active", "inactive", "pending"] },
    verified: { type: "boolean" },
    notes: { type: "array", items: { type: "string" } },
  },
  required: ["name", "email", "score", "status", "verified", "notes"],
  additionalProperties: false,
};
const kinds = ["string", "integer", "boolean", "number"];
const WIDE = {
  type: "object",
  properties: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`field_${i}`, { type: kinds[i % 4] }])),
  required: Array.from({ length: 20 }, (_, i) => `field_${i}`),
  additionalProperties: false,
};
const schemaSpec = (schema: unknown) => ({
  case: "jsonSchema" as const,
  value: { schema: JSON.stringify(schema), strict: true },
});

async function compileTimes() {
  const timed = async (compiler: ConstraintCompiler) => {
    const started = performance.now();
    await compiler.compile(schemaSpec(WIDE));
    return performance.now() - started;
  };
  const withProbe = await ConstraintCompiler.create(vocabulary);
  await withProbe.compile({ case: "choice", value: { options: ["warm the probe worker up"] } });
  const coldWithProbeMs = await timed(withProbe);
  const cachedMs = await timed(withProbe);
  withProbe.close();
  const direct = await ConstraintCompiler.create(vocabulary, { compileTimeoutMs: 0 });
  const coldDirectMs = await timed(direct);
  direct.close();
  return { coldWithProbeMs, coldDirectMs, cachedMs };
}

const compiler = await ConstraintCompiler.create(vocabulary, { compileTimeoutMs: 0 });
await compiler.compile(schemaSpec(TYPICAL)); // the runs measure decoding, not the first compile
const engine = await Engine.load({
  ...engineSizing({ LLM_EXECUTION_PROVIDERS: "cpu" }),
  modelDir: dir,
  sampler: inProcessSampler(new Sampler({ vocabSize, constraints: compiler })),
  maxBatchSize: 32,
  log: jsonLog("warn"),
});

async function decodeRate(streams: number, constrained: boolean, tag: string): Promise<number> {
  const sampling: SamplingParams = { temperature: 0, ...(constrained ? { constraint: schemaSpec(TYPICAL) } : {}) };
  let tokens = 0;
  let firstAt = 0;
  await Promise.all(
    Array.from({ length: streams }, async (_, b) => {
      const promptIds = Array.from({ length: 16 }, (_, i) => (i * 7919 + b * 104_729 + 13) % (vocabSize - 1));
      for await (const e of engine.submit({
        requestId: `${tag}-${b}`,
        promptIds,
        maxTokens: newTokens,
        sampling,
        ignoreEos: !constrained,
      })) {
        if (e.type === "final" && e.error) throw e.error;
        if (e.type !== "token") continue;
        if (e.index === 0) firstAt = Math.max(firstAt, performance.now());
        else tokens++;
      }
    }),
  );
  return (tokens * 1000) / (performance.now() - firstAt);
}

const results: Record<string, unknown> = { preset: values.preset, vocabSize, newTokens, runs };
for (const streams of [1, 32]) {
  await decodeRate(streams, false, `warm-${streams}`);
  await decodeRate(streams, true, `warm-c-${streams}`);
  const plain: number[] = [];
  const constrained: number[] = [];
  for (let r = 0; r < runs; r++) {
    plain.push(await decodeRate(streams, false, `p${streams}-${r}`));
    constrained.push(await decodeRate(streams, true, `c${streams}-${r}`));
  }
  results[`streams${streams}`] = {
    unconstrainedTokensPerSecond: Math.round(median(plain)),
    constrainedTokensPerSecond: Math.round(median(constrained)),
    ratio: Number((median(constrained) / median(plain)).toFixed(3)),
  };
}
await engine.close?.();
compiler.close();
results.compile20Properties = await compileTimes();
console.log(JSON.stringify(results, null, 2));
