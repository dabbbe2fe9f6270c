// Sampling benchmark: time per engine step of Sampler.sampleBatch at batch 1/8/32/64 over a GPT-2 sized
// vocabulary, for greedy, the standard pipeline (temperature 0.8, top-p 0.9) and a naive baseline that
// fully sorts the vocabulary per sequence (same temperature and top-p), all in one process on the same
// logits. Run: npx tsx bench/sampling.ts   (prints one JSON object)
import { cpus, loadavg } from "node:os";
import { isBatchFailure, Sampler, type SamplingParams } from "@llm/sampling";

const VOCAB = 50257;
const BATCHES = [1, 8, 32, 64];
const TEMPERATURE = 0.8;
const TOP_P = 0.9;
/** Logit spread: N(0, σ²) per token. σ = 3 gives a nucleus of a few hundred tokens, like a trained LM; σ = 1
 *  is near-flat, like the bundled random-weight model, and makes the nucleus most of the vocabulary. */
const SIGMAS = [3, 1];

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const round = (value: number, digits = 3) => Number(value.toPrecision(digits));

/** Median milliseconds per call of `step`, after warm-up calls; fewer calls when a call is slow. */
function timeSteps(step: () => void): number {
  const warmStart = performance.now();
  step();
  step();
  const warmMs = (performance.now() - warmStart) / 2;
  const calls = Math.max(3, Math.min(40, Math.floor(1500 / Math.max(warmMs, 0.01))));
  const ms: number[] = [];
  for (let i = 0; i < calls; i++) {
    const start = performance.now();
    step();
    ms.push(performance.now() - start);
  }
  return median(ms);
}

/** A [batch, vocab] buffer of normal logits (Box–Muller over a fixed LCG, so every run sees the same data). */
function logitsBuffer(rows: number, sigma: number): Float32Array {
  let state = 12345;
  const uniform = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state + 0.5) / 4294967296;
  };
  const buffer = new Float32Array(rows * VOCAB);
  for (let i = 0; i < buffer.length; i++) {
    buffer[i] = sigma * Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  }
  return buffer;
}

function views(buffer: Float32Array, batch: number) {
  return Array.from({ length: batch }, (_, row) => ({
    sequenceId: row,
    logits: buffer.subarray(row * VOCAB, (row + 1) * VOCAB),
  }));
}

/** The textbook implementation: sort all token ids by logit, softmax over everything, cut at top-p, draw. */
function naiveTopP(logits: Float32Array, random: () => number): { tokenId: number; nucleus: Set<number> } {
  const order = Array.from({ length: logits.length }, (_, i) => i).sort((a, b) => logits[b] - logits[a]);
  const max = logits[order[0]];
  const probs = order.map((id) => Math.exp((logits[id] - max) / TEMPERATURE));
  const total = probs.reduce((a, b) => a + b, 0);
  let mass = 0;
  let size = 0;
  while (size < order.length && mass < TOP_P * total) mass += probs[size++];
  let target = random() * mass;
  let pick = 0;
  while (pick < size - 1 && target >= probs[pick]) target -= probs[pick++];
  return { tokenId: order[pick], nucleus: new Set(order.slice(0, size)) };
}

function samplerFor(batch: number, params: SamplingParams): Sampler {
  const sampler = new Sampler({ vocabSize: VOCAB });
  for (let row = 0; row < batch; row++) sampler.open(row, { params, seed: 1000 + row });
  return sampler;
}

function stepWith(sampler: Sampler, items: ReturnType<typeof views>): () => void {
  return () => {
    for (const result of sampler.sampleBatch(items)) if (isBatchFailure(result)) throw result.error;
  };
}

const standardParams: SamplingParams = { temperature: TEMPERATURE, topP: TOP_P };
const results = [];
for (const sigma of SIGMAS) {
  const buffer = logitsBuffer(Math.max(...BATCHES), sigma);
  // Cross-check before timing: every token the standard pipeline picks lies in the naive nucleus.
  const check = samplerFor(8, standardParams).sampleBatch(views(buffer, 8));
  let nucleusSize = 0;
  for (const result of check) {
    if (isBatchFailure(result)) throw result.error;
    const { nucleus } = naiveTopP(views(buffer, 8)[result.sequenceId as number].logits, Math.random);
    nucleusSize += nucleus.size / check.length;
    if (!nucleus.has(result.tokenId)) throw new Error(`token ${result.tokenId} is outside the naive nucleus`);
  }

  for (const batch of BATCHES) {
    const items = views(buffer, batch);
    const greedyMs = timeSteps(stepWith(samplerFor(batch, { strategy: "greedy" }), items));
    const standardMs = timeSteps(stepWith(samplerFor(batch, standardParams), items));
    const logprobsMs = timeSteps(stepWith(samplerFor(batch, { ...standardParams, topLogprobs: 5 }), items));
    const naiveMs = timeSteps(() => {
      for (const item of items) naiveTopP(item.logits, Math.random);
    });
    results.push({
      sigma,
      meanNucleusTokens: Math.round(nucleusSize),
      batch,
      greedyMs: round(greedyMs),
      standardMs: round(standardMs),
      standardWithTop5LogprobsMs: round(logprobsMs),
      naiveFullSortMs: round(naiveMs),
      naiveOverStandard: round(naiveMs / standardMs),
      naiveOverGreedy: round(naiveMs / greedyMs),
      standardUsPerSequence: round((standardMs * 1000) / batch),
    });
  }
}

console.log(
  JSON.stringify(
    {
      bench: "sampling",
      vocab: VOCAB,
      standard: standardParams,
      node: process.version,
      cpu: cpus()[0]?.model,
      cores: cpus().length,
      loadAverageAtEnd: loadavg().map((l) => round(l, 2)),
      timing: "median ms per sampleBatch call (one engine step)",
      results,
    },
    null,
    2,
  ),
);
