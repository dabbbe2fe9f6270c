import { isBatchFailure, Sampler, type SamplingParams } from "@llm/sampling";
import { describe, expect, it } from "vitest";
import { randomLogits } from "./helpers.js";

const VOCAB = 8192;
const STEPS = 10;
const PARAMS: SamplingParams[] = [
  { temperature: 0.8, topP: 0.9 },
  { temperature: 1.3, topK: 40, presencePenalty: 0.5, frequencyPenalty: 0.3 },
  { temperature: 1, minP: 0.05, repetitionPenalty: 1.3 },
  { temperature: 1.5 },
];

/** Per step, per sequence, fresh logits that depend only on (sequence, step). */
function logitsOf(sequence: number, step: number): Float32Array {
  return randomLogits(VOCAB, 1000 * sequence + step, 1.5);
}

/** Runs the given sequences together for STEPS steps, in the given order each step; returns tokens per sequence. */
function run(sequences: number[], seedOf: (s: number) => bigint, order: (step: number) => number[]) {
  const sampler = new Sampler({ vocabSize: VOCAB });
  for (const s of sequences)
    sampler.open(s, { params: PARAMS[s % PARAMS.length], seed: seedOf(s), promptTokenIds: [s] });
  const tokens = new Map<number, number[]>(sequences.map((s) => [s, []]));
  for (let step = 0; step < STEPS; step++) {
    const results = sampler.sampleBatch(order(step).map((s) => ({ sequenceId: s, logits: logitsOf(s, step) })));
    for (const r of results) {
      if (isBatchFailure(r)) throw r.error;
      tokens.get(r.sequenceId as number)?.push(r.tokenId);
    }
  }
  return tokens;
}

describe("seeded determinism", () => {
  const seedOf = (s: number) => 9000n + BigInt(s);

  it("gives the same tokens for the same seed, params and logits", () => {
    const a = run([0, 1, 2, 3], seedOf, () => [0, 1, 2, 3]);
    const b = run([0, 1, 2, 3], seedOf, () => [0, 1, 2, 3]);
    expect(b).toEqual(a);
    // Sampling really is random: different seeds lead somewhere else.
    const other = run(
      [0, 1, 2, 3],
      (s) => seedOf(s) + 77n,
      () => [0, 1, 2, 3],
    );
    expect(other).not.toEqual(a);
  });

  it("does not depend on the other sequences in the batch or their order", () => {
    const alone = new Map([0, 1, 2, 3].map((s) => [s, run([s], seedOf, () => [s]).get(s)]));
    const shuffled = run([0, 1, 2, 3, 4, 5, 6], seedOf, (step) =>
      step % 2 === 0 ? [6, 3, 5, 0, 2, 4, 1] : [1, 2, 0, 4, 3, 6, 5],
    );
    for (const s of [0, 1, 2, 3]) expect(shuffled.get(s)).toEqual(alone.get(s));
  });

  it("picks and exposes a seed when none is given, which reproduces the run", () => {
    const sampler = new Sampler({ vocabSize: VOCAB });
    const first = sampler.open("a", { params: PARAMS[0] });
    const second = sampler.open("b", { params: PARAMS[0] });
    expect(first.seed).not.toBe(second.seed);
    const replay = sampler.open("c", { params: PARAMS[0], seed: first.seed });
    for (let step = 0; step < STEPS; step++) {
      const logits = logitsOf(0, step);
      expect(replay.sample(logits).tokenId).toBe(first.sample(logits).tokenId);
    }
  });

  it("lets the open seed take precedence over params.seed", () => {
    const sampler = new Sampler({ vocabSize: VOCAB });
    expect(sampler.open("a", { params: { seed: 5 }, seed: 6 }).seed).toBe(6n);
    expect(sampler.open("b", { params: { seed: 5 } }).seed).toBe(5n);
  });

  it("continues from tokens generated elsewhere exactly as the uninterrupted sequence (draw index, penalties)", () => {
    const params: SamplingParams = { temperature: 1.1, topP: 0.9, presencePenalty: 0.8, frequencyPenalty: 0.5 };
    const sampler = new Sampler({ vocabSize: VOCAB });
    const whole = sampler.open("whole", { params, seed: 31, promptTokenIds: [1, 2] });
    const tokens = Array.from({ length: STEPS }, (_, step) => whole.sample(logitsOf(0, step)).tokenId);
    const taken = sampler.open("taken", {
      params,
      seed: 31,
      promptTokenIds: [1, 2],
      outputTokenIds: tokens.slice(0, 4),
    });
    const rest = Array.from({ length: STEPS - 4 }, (_, i) => taken.sample(logitsOf(0, 4 + i)).tokenId);
    expect(rest).toEqual(tokens.slice(4));
    // Without the earlier output the continuation is another one: the test can fail.
    const fresh = sampler.open("fresh", { params, seed: 31, promptTokenIds: [1, 2] });
    expect(Array.from({ length: STEPS - 4 }, (_, i) => fresh.sample(logitsOf(0, 4 + i)).tokenId)).not.toEqual(rest);
  });
});
