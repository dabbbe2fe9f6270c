// The step observer (what telemetry builds `llm.runner.step` spans from) against what the streams saw.
import type { SamplingParams } from "@llm/sampling";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Engine, EngineStep } from "../src/index.js";
import { collect, promptOf, request, tinyEngine } from "./helpers.js";

describe("engine step observer (tiny model, real ORT)", () => {
  const steps: EngineStep[] = [];
  let engine: Engine<SamplingParams>;
  beforeAll(async () => {
    // A small step budget, so a long prompt spans steps that produce no token.
    engine = await tinyEngine({
      prefillChunkTokens: 16,
      maxStepTokens: 33,
      observer: { onStep: (step) => steps.push(step) },
    });
  });
  afterAll(() => engine.close());

  it("reports every computing step once, with the tokens each produced and the work it did", async () => {
    const runs = await Promise.all([
      collect(engine.submit(request("a", promptOf(40, 1), 6))),
      collect(engine.submit(request("b", promptOf(5, 2), 9))),
      collect(engine.submit(request("c", promptOf(12, 3), 3))),
    ]);

    expect(steps.map((s) => s.index)).toEqual(steps.map((_, i) => i + 1));
    for (const [id, run] of [
      ["a", runs[0]],
      ["b", runs[1]],
      ["c", runs[2]],
    ] as const) {
      const reported = steps.flatMap((s) => s.tokens.filter((t) => t.requestId === id).map((t) => t.token));
      expect(reported).toEqual(run.events); // same events, same order, none twice
    }
    // "a" (40 tokens, 33 a step) needs two prefill steps; only the last yields its first token.
    const aPrefill = steps.filter((s) => s.requestIds.includes("a") && s.prefillTokens > 0 && s.decodeTokens === 0);
    expect(aPrefill.length).toBeGreaterThanOrEqual(1);
    const promptTokens = steps.reduce((sum, s) => sum + s.prefillTokens, 0);
    expect(promptTokens).toBe(40 + 5 + 12);
    for (const step of steps) {
      expect(step.batchSize).toBe(step.requestIds.length);
      expect(step.decodeTokens).toBeLessThanOrEqual(step.batchSize);
      expect(step.tokens.length).toBeLessThanOrEqual(step.batchSize);
      expect(step.durationMs).toBeGreaterThan(0);
      expect(step.provider).toBe("cpu");
    }
    const decodeRows = steps.reduce((sum, s) => sum + s.decodeTokens, 0);
    // Every token after a request's first comes from a decode row.
    expect(decodeRows).toBe(6 - 1 + (9 - 1) + (3 - 1));
  });
});
