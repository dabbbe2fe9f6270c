// Remote sampler benchmark: time per engine step of the engine's Sampler contract with the @llm/sampling
// library in-process vs the RemoteSampler (one bidi message per step to a sampler service in another
// process on loopback), at batch 1/8/32 over a GPT-2 sized vocabulary, for greedy and for temperature 0.8 +
// top-p 0.9. Both samplers see the same logits in the same run and must choose the same tokens.
// Run: npx tsx bench/sampler-remote.ts   (prints one JSON object)
import { cpus, loadavg } from "node:os";
import { type EngineSampler, inProcessSampler, type SampleInput } from "@llm/engine";
import { jsonLog } from "@llm/log";
import { create, type SamplingParams, SamplingParamsSchema } from "@llm/proto";
import { Sampler } from "@llm/sampling";
import { startService } from "@llm/testing";
import { RemoteSampler } from "../services/model-runner/src/remote-sampler.js";

const VOCAB = 50257;
const BATCHES = [1, 8, 32];
const STEPS = 30;
const WARMUP = 3;
const PARAMS: Record<string, SamplingParams> = {
  greedy: create(SamplingParamsSchema, { temperature: 0 }),
  "top-p": create(SamplingParamsSchema, { temperature: 0.8, topP: 0.9, seed: 1n }),
};

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const round = (value: number, digits = 3) => Number(value.toPrecision(digits));

/** Normal logits with σ = 3 (a nucleus of a few hundred tokens), the same every run. */
function logitsBuffer(rows: number): Float32Array {
  let state = 12345;
  const uniform = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state + 0.5) / 4294967296;
  };
  const buffer = new Float32Array(rows * VOCAB);
  for (let i = 0; i < buffer.length; i++) {
    buffer[i] = 3 * Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  }
  return buffer;
}

/** Median ms per step and the tokens of every step (to check both samplers agree). */
async function timeSteps(
  sampler: EngineSampler<SamplingParams>,
  params: SamplingParams,
  batch: number,
  buffer: Float32Array,
  run: string,
): Promise<{ ms: number; tokens: number[] }> {
  const inputs: SampleInput[] = Array.from({ length: batch }, (_, row) => ({
    seqId: `${run}-${row}`,
    logits: buffer.subarray(row * VOCAB, (row + 1) * VOCAB),
  }));
  for (const { seqId } of inputs) await sampler.open(seqId, params, [1, 2, 3]);
  const ms: number[] = [];
  const tokens: number[] = [];
  for (let step = 0; step < WARMUP + STEPS; step++) {
    const start = performance.now();
    const results = await sampler.sample(inputs);
    if (step >= WARMUP) ms.push(performance.now() - start);
    for (const result of results) {
      if ("error" in result) throw result.error;
      tokens.push(result.tokenId);
    }
  }
  for (const { seqId } of inputs) sampler.close(seqId);
  return { ms: median(ms), tokens };
}

const service = await startService("services/sampler/src/main.ts", { name: "sampler" });
const remote = new RemoteSampler(service.address, jsonLog());
const local = inProcessSampler(new Sampler({ vocabSize: VOCAB }));
const buffer = logitsBuffer(Math.max(...BATCHES));
const rows = [];
try {
  for (const [name, params] of Object.entries(PARAMS)) {
    for (const batch of BATCHES) {
      const inProcess = await timeSteps(local, params, batch, buffer, `local-${name}-${batch}`);
      const overWire = await timeSteps(remote, params, batch, buffer, `remote-${name}-${batch}`);
      const sameTokens = inProcess.tokens.every((token, i) => token === overWire.tokens[i]);
      rows.push({
        params: name,
        batch,
        inProcessMsPerStep: round(inProcess.ms),
        remoteMsPerStep: round(overWire.ms),
        overheadMsPerStep: round(overWire.ms - inProcess.ms),
        ratio: round(overWire.ms / inProcess.ms),
        bytesPerStep: batch * VOCAB * 4,
        sameTokens,
      });
    }
  }
} finally {
  remote.shutdown();
  await service.stop();
}

const result = {
  benchmark: "sampler-remote",
  vocab: VOCAB,
  steps: STEPS,
  machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavg1m: round(loadavg()[0]) },
  rows,
};
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
