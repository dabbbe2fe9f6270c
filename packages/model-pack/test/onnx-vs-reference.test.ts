// The ONNX graph, run by real ONNX Runtime CPU sessions, against the independent float64 reference.
import type { InferenceSession } from "onnxruntime-node";
import { beforeAll, describe, expect, test } from "vitest";
import { generateWeights, referenceForward } from "../src/index.js";
import {
  argmax,
  emptyCache,
  gpt2Encode,
  greedyCached,
  leftPadded,
  logitsRow,
  maxAbsDiff,
  openSession,
  runOrt,
  TINY,
  tinyModel,
} from "./helpers.js";

const shape = TINY.shape;
const vocab = shape.vocabSize;
const weights = generateWeights(shape, TINY.seed);
const TOLERANCE = 1e-4;
let session: InferenceSession;

beforeAll(async () => {
  session = await openSession((await tinyModel()).dir);
});

describe("tiny GPT-2 ONNX graph", () => {
  test("logits at every position match the float64 reference", async () => {
    const batch = leftPadded([gpt2Encode("The quick brown fox jumps over the lazy dog.")]);
    const ort = await runOrt(session, shape, batch, emptyCache(shape, 1), 0);
    const reference = referenceForward(weights, batch);
    expect(ort.dims).toEqual([1, batch.inputIds[0].length, vocab]);
    const diff = maxAbsDiff(ort.logits, reference.logits);
    console.log(
      `ORT vs float64 reference, all ${batch.inputIds[0].length} positions: max abs diff ${diff.toExponential(2)}`,
    );
    expect(diff).toBeLessThanOrEqual(TOLERANCE);
  });

  test("num_logits_to_keep=N returns only the last N positions", async () => {
    const batch = leftPadded([gpt2Encode("Only the last position matters when sampling.")]);
    const seq = batch.inputIds[0].length;
    const all = await runOrt(session, shape, batch, emptyCache(shape, 1), 0);
    for (const keep of [1, 3]) {
      const kept = await runOrt(session, shape, batch, emptyCache(shape, 1), keep);
      expect(kept.dims).toEqual([1, keep, vocab]);
      expect(maxAbsDiff(kept.logits, all.logits.subarray((seq - keep) * vocab))).toBeLessThanOrEqual(1e-6);
    }
  });

  test("cached decode equals full recompute, token for token", async () => {
    const prompt = gpt2Encode("Once upon a time, in a land far away,");
    const steps = 8;
    const cached = await greedyCached(session, shape, prompt, steps);
    let worst = 0;
    for (let step = 0; step < steps; step++) {
      const context = [...prompt, ...cached.tokens.slice(0, step)];
      const full = await runOrt(session, shape, leftPadded([context]), emptyCache(shape, 1), 1);
      worst = Math.max(worst, maxAbsDiff(cached.stepLogits[step], full.logits));
      expect(argmax(full.logits)).toBe(cached.tokens[step]);
    }
    console.log(`cached decode vs full recompute over ${steps} steps: max abs diff ${worst.toExponential(2)}`);
    expect(worst).toBeLessThanOrEqual(TOLERANCE);
  });

  test("the reference's own past cache gives the ORT decode step's logits", async () => {
    const prompt = gpt2Encode("A cache holds keys and values");
    const [first, second] = (await greedyCached(session, shape, prompt, 2)).stepLogits;
    const prefill = referenceForward(weights, { ...leftPadded([prompt]), numLogitsToKeep: 1 });
    const step = referenceForward(weights, {
      inputIds: [[argmax(first)]],
      attentionMask: [Array(prompt.length + 1).fill(1)],
      positionIds: [[prompt.length]],
      past: prefill.present,
      numLogitsToKeep: 1,
    });
    const diff = Math.max(maxAbsDiff(first, prefill.logits), maxAbsDiff(second, step.logits));
    console.log(`ORT cached step vs reference cached step: max abs diff ${diff.toExponential(2)}`);
    expect(diff).toBeLessThanOrEqual(TOLERANCE);
  });

  test("a left-padded batch gives each prompt the logits it gets alone, in prefill and decode", async () => {
    const prompts = [
      "Hi",
      "The weather today is",
      "In the beginning the universe was created, which made many people angry",
    ].map(gpt2Encode);
    const batch = leftPadded(prompts);
    const batched = await runOrt(session, shape, batch, emptyCache(shape, prompts.length), 1);
    const reference = referenceForward(weights, { ...batch, numLogitsToKeep: 1 });
    const next = prompts.map((_, b) => argmax(logitsRow(batched.logits, vocab, b)));
    const width = batch.inputIds[0].length;
    const step = await runOrt(
      session,
      shape,
      {
        inputIds: next.map((token) => [token]),
        attentionMask: batch.attentionMask.map((row) => [...row, 1]),
        positionIds: prompts.map((p) => [p.length]),
      },
      batched.cache,
      1,
    );
    let vsAlone = 0;
    for (const [b, prompt] of prompts.entries()) {
      const alone = await greedyCached(session, shape, prompt, 2);
      vsAlone = Math.max(vsAlone, maxAbsDiff(logitsRow(batched.logits, vocab, b), alone.stepLogits[0]));
      vsAlone = Math.max(vsAlone, maxAbsDiff(logitsRow(step.logits, vocab, b), alone.stepLogits[1]));
      expect(next[b]).toBe(alone.tokens[0]);
    }
    const vsReference = maxAbsDiff(batched.logits, reference.logits);
    console.log(
      `left-padded batch (lengths ${prompts.map((p) => p.length)}, width ${width}): ` +
        `vs alone max abs diff ${vsAlone.toExponential(2)}, vs reference ${vsReference.toExponential(2)}`,
    );
    expect(vsAlone).toBeLessThanOrEqual(TOLERANCE);
    expect(vsReference).toBeLessThanOrEqual(TOLERANCE);
  });

  test("random weights still make greedy text depend on the prompt", async () => {
    const continuations = await Promise.all(
      ["The capital of France is", "def fibonacci(n):", "Dear diary, today I"].map(
        async (text) => (await greedyCached(session, shape, gpt2Encode(text), 12)).tokens,
      ),
    );
    console.log(`greedy continuations: ${continuations.map((c) => c.join(" ")).join(" | ")}`);
    expect(new Set(continuations.map((c) => c.join(" "))).size).toBe(continuations.length);
    for (const tokens of continuations) expect(new Set(tokens).size).toBeGreaterThan(3);
  });
});
