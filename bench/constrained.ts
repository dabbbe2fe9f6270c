// Constrained decoding's cost: decode tokens/s of the engine with a typical JSON schema vs unconstrained at 1
// and 32 streams, with the in-process sampler and with a remote one: a sampler service in its own process,
// reached as the model-runner reaches it (RemoteSampler over the sidecar's shared-memory ring, the constraint
// compiled on the sampler by PrepareConstraint against the runner's vocabulary). All in the same run: each run
// takes every sampler form in turn, unconstrained then constrained; medians over --runs. Greedy, so the remote
// sampler must choose the in-process tokens (`sameTokens`: the constrained outputs; `sameTokensUnconstrained`).
// Also the grammar compile time of a 20-property schema cold (fresh compiler, with and without the time-limit
// probe) and cached.
// Usage: npx tsx bench/constrained.ts [--preset tiny] [--tokens 48] [--runs 3] [--sampler in-process,remote]
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { Engine, type EngineSampler, engineSizing, inProcessSampler, readModelConfig } from "@llm/engine";
import { jsonLog } from "@llm/log";
import { ensureModel } from "@llm/model-pack";
import { create, type SamplingParams, SamplingParamsSchema } from "@llm/proto";
import { ConstraintCompiler, Sampler } from "@llm/sampling";
import { constraintVocabulary } from "../services/model-runner/src/constraint-vocabulary.js";
import { median } from "./engine-run.js";
import { RING_DIR, SamplerProcess } from "./sampler-process.js";

const FORMS = ["in-process", "remote"] as const;
type Form = (typeof FORMS)[number];

const { values } = parseArgs({
  options: {
    preset: { type: "string", default: "tiny" },
    tokens: { type: "string", default: "48" },
    runs: { type: "string", default: "3" },
    sampler: { type: "string", default: FORMS.join(",") },
  },
});
const newTokens = Number(values.tokens);
const runs = Number(values.runs);
const forms = values.sampler.split(",") as Form[];
for (const form of forms) {
  if (!FORMS.includes(form)) throw new Error(`--sampler: unknown "${form}" (one or both of ${FORMS.join(", ")})`);
}
const MAX_BATCH = 32;
const dir = (await ensureModel(values.preset)).dir;
const { vocabSize, eosTokenIds } = await readModelConfig(dir);
const vocabulary = await constraintVocabulary(dir, vocabSize, eosTokenIds);

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

// The proto's SamplingParams go to either sampler, as in the runner (the library reads the same field names).
const PLAIN = create(SamplingParamsSchema, { temperature: 0 });
const CONSTRAINED = create(SamplingParamsSchema, { temperature: 0, constraint: schemaSpec(TYPICAL) });

const compiler = await ConstraintCompiler.create(vocabulary, { compileTimeoutMs: 0 });
await compiler.compile(schemaSpec(TYPICAL)); // the runs measure decoding, not the first compile
const samplerProcess = forms.includes("remote") ? await SamplerProcess.start() : undefined;
// The sidecar transport as the runner sets it up: a ring slot holds a full step of float32 rows.
const remote = samplerProcess?.connect(
  { ringDir: RING_DIR, ringSlotBytes: MAX_BATCH * vocabSize * 4 },
  vocabulary,
  jsonLog("warn"),
);
const samplers: Record<Form, EngineSampler<SamplingParams> | undefined> = {
  "in-process": inProcessSampler(new Sampler({ vocabSize, constraints: compiler })),
  remote,
};
const engines = new Map<Form, Engine<SamplingParams>>();
for (const form of forms) {
  const engine = await Engine.load({
    ...engineSizing({ LLM_EXECUTION_PROVIDERS: "cpu" }),
    modelDir: dir,
    sampler: samplers[form] as EngineSampler<SamplingParams>,
    maxBatchSize: MAX_BATCH,
    log: jsonLog("warn"),
  });
  engines.set(form, engine);
}

/** Decode tokens/s after every stream's first token, and each stream's tokens (the first included). */
async function decode(form: Form, streams: number, constrained: boolean, tag: string) {
  const engine = engines.get(form) as Engine<SamplingParams>;
  let tokens = 0;
  let firstAt = 0;
  const outputs = await Promise.all(
    Array.from({ length: streams }, async (_, b) => {
      const promptIds = Array.from({ length: 16 }, (_, i) => (i * 7919 + b * 104_729 + 13) % (vocabSize - 1));
      const output: number[] = [];
      for await (const e of engine.submit({
        requestId: `${form}-${tag}-${b}`,
        promptIds,
        maxTokens: newTokens,
        sampling: constrained ? CONSTRAINED : PLAIN,
        ignoreEos: !constrained,
      })) {
        if (e.type === "final" && e.error) throw e.error;
        if (e.type !== "token") continue;
        output.push(e.tokenId);
        if (e.index === 0) firstAt = Math.max(firstAt, performance.now());
        else tokens++;
      }
      return output;
    }),
  );
  return { rate: (tokens * 1000) / (performance.now() - firstAt), outputs };
}

/** Where a remote output first differs from the in-process one of the same run and stream. */
const mismatches: Record<string, unknown>[] = [];
function compare(streams: number, run: string, constrained: boolean, local: number[][], remote: number[][]): boolean {
  let same = true;
  local.forEach((expected, stream) => {
    const got = remote[stream];
    const at = expected.findIndex((token, i) => token !== got[i]);
    if (at === -1 && expected.length === got.length) return;
    same = false;
    const index = at === -1 ? Math.min(expected.length, got.length) : at;
    mismatches.push({ streams, run, constrained, stream, index, inProcess: expected[index], remote: got[index] });
  });
  return same;
}

const ratio = (a: number, b: number) => Number((a / b).toFixed(3));
const results: Record<string, unknown> = { preset: values.preset, vocabSize, newTokens, runs, samplers: forms };
if (remote) results.remoteTransport = RING_DIR ? `sidecar ring in ${RING_DIR}` : "network (no /dev/shm for a ring)";
let sameTokens = true;
let sameTokensUnconstrained = true;
try {
  for (const streams of [1, 32]) {
    const rates = new Map(forms.map((form) => [form, { plain: [] as number[], constrained: [] as number[] }]));
    for (let r = -1; r < runs; r++) {
      const run = r < 0 ? `warm-${streams}` : `${streams}-${r}`;
      // Alternate which form goes first, so neither always follows the other's load.
      const order = r % 2 === 0 ? forms : [...forms].reverse();
      const outputs = new Map<Form, { plain: number[][]; constrained: number[][] }>();
      for (const form of order) {
        const plain = await decode(form, streams, false, `p${run}`);
        const constrained = await decode(form, streams, true, `c${run}`);
        outputs.set(form, { plain: plain.outputs, constrained: constrained.outputs });
        if (r < 0) continue; // the warm-up run's tokens are compared, its rates are not kept
        rates.get(form)?.plain.push(plain.rate);
        rates.get(form)?.constrained.push(constrained.rate);
      }
      const local = outputs.get("in-process");
      const far = outputs.get("remote");
      if (local && far) {
        sameTokens = compare(streams, run, true, local.constrained, far.constrained) && sameTokens;
        sameTokensUnconstrained = compare(streams, run, false, local.plain, far.plain) && sameTokensUnconstrained;
      }
    }
    const medians = new Map(
      [...rates].map(([form, { plain, constrained }]) => [form, [median(plain), median(constrained)]]),
    );
    const row = ([plain, constrained]: number[]) => ({
      unconstrainedTokensPerSecond: Math.round(plain),
      constrainedTokensPerSecond: Math.round(constrained),
      ratio: ratio(constrained, plain),
    });
    const local = medians.get("in-process");
    const far = medians.get("remote");
    results[`streams${streams}`] = {
      ...(local && row(local)), // the in-process fields stay where they were before the remote rows
      ...(far && { remote: row(far) }),
      ...(local &&
        far && { remoteVsInProcess: { unconstrained: ratio(far[0], local[0]), constrained: ratio(far[1], local[1]) } }),
    };
  }
} finally {
  for (const engine of engines.values()) await engine.close();
  remote?.shutdown();
  await samplerProcess?.stop();
  compiler.close();
}
if (engines.size === 2) Object.assign(results, { sameTokens, sameTokensUnconstrained });
if (mismatches.length > 0) results.mismatches = mismatches.slice(0, 8);
results.compile20Properties = await compileTimes();
results.loadavg1m = Number(loadavg()[0].toFixed(2));
console.log(JSON.stringify(results, null, 2));
