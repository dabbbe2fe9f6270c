// Remote sampler benchmark: median ms per engine step of the engine's Sampler contract, same logits, same run:
// the @llm/sampling library in-process vs RemoteSampler (the runner's client) to a sampler service in another
// process over each transport: the shared-memory ring (sidecar), network full rows, network pruned rows
// (candidates only). Batch 1/8/32/64, GPT-2's vocabulary and a 128k one, greedy and temperature 0.8 + top-p 0.9.
// Every transport must choose the in-process tokens (`sameTokens`). The four take turns step by step.
// Run: npx tsx bench/sampler-remote.ts [--vocabs 50257,131072] [--batches 1,8,32,64] [--steps 12]
import { cpus, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { type EngineSampler, inProcessSampler, type SampleInput } from "@llm/engine";
import { create, type SamplingParams, SamplingParamsSchema } from "@llm/proto";
import { Sampler } from "@llm/sampling";
import type { SamplerTransport } from "../services/model-runner/src/remote-sampler.js";
import { RING_DIR, SamplerProcess } from "./sampler-process.js";

const { values } = parseArgs({
  options: {
    vocabs: { type: "string", default: "50257,131072" },
    batches: { type: "string", default: "1,8,32,64" },
    steps: { type: "string", default: "12" },
  },
});
const VOCABS = values.vocabs.split(",").map(Number);
const BATCHES = values.batches.split(",").map(Number);
const STEPS = Number(values.steps);
const WARMUP = 2;
const PARAMS: Record<string, SamplingParams> = {
  greedy: create(SamplingParamsSchema, { temperature: 0 }),
  "top-p": create(SamplingParamsSchema, { temperature: 0.8, topP: 0.9, seed: 1n }),
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (value: number, digits = 3) => Number(value.toPrecision(digits));

/** Normal logits with σ = 3 (a nucleus of a few hundred tokens), the same every run. */
function logitsBuffer(rows: number, vocab: number): Float32Array {
  let state = 12345;
  const uniform = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state + 0.5) / 4294967296;
  };
  const buffer = new Float32Array(rows * vocab);
  for (let i = 0; i < buffer.length; i++) {
    buffer[i] = 3 * Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  }
  return buffer;
}

/**
 * Median ms per step of each sampler, and whether each chose the first one's tokens. The samplers take turns
 * step by step, so a change in the shared box's load hits them all alike.
 */
async function timeSteps(
  samplers: readonly (readonly [string, EngineSampler<SamplingParams>])[],
  params: SamplingParams,
  batch: number,
  vocab: number,
  buffer: Float32Array,
  run: string,
): Promise<{ name: string; ms: number; sameTokens: boolean }[]> {
  const inputs = (name: string): SampleInput[] =>
    Array.from({ length: batch }, (_, row) => ({
      seqId: `${run}-${name}-${row}`,
      logits: buffer.subarray(row * vocab, (row + 1) * vocab),
    }));
  const timed = samplers.map(([name, sampler]) => ({
    name,
    sampler,
    inputs: inputs(name),
    ms: [] as number[],
    tokens: [] as number[],
  }));
  for (const { sampler, inputs } of timed) for (const { seqId } of inputs) await sampler.open(seqId, params, [1, 2, 3]);
  for (let step = 0; step < WARMUP + STEPS; step++) {
    for (const { sampler, inputs, ms, tokens } of timed) {
      const start = performance.now();
      const results = await sampler.sample(inputs);
      if (step >= WARMUP) ms.push(performance.now() - start);
      for (const result of results) {
        if ("error" in result) throw result.error;
        tokens.push(result.tokenId);
      }
    }
  }
  for (const { sampler, inputs } of timed) for (const { seqId } of inputs) sampler.close(seqId);
  return timed.map(({ name, ms, tokens }) => ({
    name,
    ms: median(ms),
    sameTokens: tokens.every((token, i) => token === timed[0].tokens[i]),
  }));
}

const service = await SamplerProcess.start();
const rows = [];
try {
  for (const vocab of VOCABS) {
    const maxBatch = Math.max(...BATCHES);
    const transports: Record<string, SamplerTransport> = {
      sidecar: { ringDir: RING_DIR, ringSlotBytes: maxBatch * vocab * 4 },
      networkFull: { prune: false },
      networkPruned: { prune: true },
    };
    const remotes = Object.entries(transports).map(([name, transport]) => [name, service.connect(transport)] as const);
    const local = inProcessSampler(new Sampler({ vocabSize: vocab }));
    const buffer = logitsBuffer(maxBatch, vocab);
    for (const [paramsName, params] of Object.entries(PARAMS)) {
      for (const batch of BATCHES) {
        const timed = await timeSteps(
          [["inProcess", local], ...remotes],
          params,
          batch,
          vocab,
          buffer,
          `${vocab}-${paramsName}-${batch}`,
        );
        const inProcessMs = timed[0].ms;
        const row: Record<string, unknown> = { vocab, params: paramsName, batch, inProcessMs: round(inProcessMs) };
        for (const { name, ms } of timed.slice(1)) {
          row[`${name}Ms`] = round(ms);
          row[`${name}VsInProcess`] = round(ms / inProcessMs);
        }
        row.prunedSpeedupVsFull = round((row.networkFullMs as number) / (row.networkPrunedMs as number));
        row.fullRowBytes = batch * vocab * 4;
        row.sameTokens = timed.every(({ sameTokens }) => sameTokens);
        rows.push(row);
        process.stderr.write(`${JSON.stringify(row)}\n`);
      }
    }
    for (const [, remote] of remotes) remote.shutdown();
  }
} finally {
  await service.stop();
}

const result = {
  benchmark: "sampler-remote",
  steps: STEPS,
  ringDir: RING_DIR ?? "(none: sidecar falls back to messages)",
  machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavg1m: round(loadavg()[0]) },
  rows,
};
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
