import {
  adjustLogits,
  applyRepetitionPenalty,
  resolveSamplingParams,
  type SamplingParams,
  TokenHistory,
  Workspace,
} from "@llm/sampling";
import { describe, expect, it } from "vitest";
import { drawCounts } from "./helpers.js";

const f32 = Math.fround;

function adjusted(logits: number[], params: SamplingParams, prompt: number[], generated: number[]): Float32Array {
  const history = new TokenHistory(prompt);
  for (const id of generated) history.append(id);
  const raw = Float32Array.from(logits);
  const result = adjustLogits({
    logits: raw,
    params: resolveSamplingParams(params),
    history,
    workspace: new Workspace(raw.length),
  });
  expect(raw).toEqual(Float32Array.from(logits)); // the caller's logits are never written
  return result;
}

describe("penalties", () => {
  const logits = [2, -1.5, 0.5, 3, -0.25, 1];

  it("repetition penalty divides positive and multiplies negative logits of prompt and output tokens", () => {
    const out = adjusted(logits, { repetitionPenalty: 1.25 }, [0, 1], [4, 4]);
    expect(Array.from(out)).toEqual([f32(2 / 1.25), f32(-1.5 * 1.25), 0.5, 3, f32(-0.25 * 1.25), 1]);
  });

  it("presence and frequency penalties count generated tokens only", () => {
    const out = adjusted(logits, { presencePenalty: 0.5, frequencyPenalty: 0.25 }, [2], [3, 3, 3, 5]);
    expect(Array.from(out)).toEqual([2, -1.5, 0.5, f32(3 - (0.5 + 3 * 0.25)), -0.25, f32(1 - (0.5 + 0.25))]);
  });

  it("applies bias, then repetition, then presence/frequency", () => {
    const out = adjusted(
      logits,
      { logitBias: { 1: 2, 3: -4 }, repetitionPenalty: 2, presencePenalty: 0.3, frequencyPenalty: -0.2 },
      [1],
      [3, 3],
    );
    // token 1: -1.5 + 2 = 0.5 → seen → 0.25. token 3: 3 − 4 = −1 → seen → −2 → −2 − (0.3 − 0.4) = −1.9.
    expect(out[1]).toBe(f32(0.25));
    expect(out[3]).toBe(f32(f32(-2) - (0.3 + 2 * -0.2)));
    expect([out[0], out[2], out[4], out[5]]).toEqual([2, 0.5, -0.25, 1]);
  });

  it("returns the raw logits untouched when nothing applies", () => {
    const history = new TokenHistory([1, 2]);
    const raw = Float32Array.from(logits);
    const ctx = { logits: raw, params: resolveSamplingParams({}), history, workspace: new Workspace(raw.length) };
    expect(adjustLogits(ctx)).toBe(raw);
  });

  it("repetition penalty below 1 favours seen tokens", () => {
    const values = Float32Array.from([4, -2]);
    applyRepetitionPenalty(values, [0, 1], 0.5);
    expect(Array.from(values)).toEqual([8, -1]);
  });
});

describe("logit bias", () => {
  it("-100 bans even the most likely token", () => {
    const logits = Float32Array.from([10, 0, 0.5, -1]);
    const counts = drawCounts(logits, { temperature: 2, logitBias: { 0: -100 } }, 3000);
    expect(counts[0]).toBe(0);
    expect(counts[1] + counts[2] + counts[3]).toBe(3000);
  });

  it("+100 forces a token", () => {
    const logits = Float32Array.from([10, 0, 0.5, -1]);
    expect(drawCounts(logits, { temperature: 2, logitBias: new Map([[3, 100]]) }, 500)[3]).toBe(500);
  });

  it("frequency penalty changes a sequence's own later draws", () => {
    // Two equally likely tokens; a strong frequency penalty makes the sequence alternate once it leads.
    const logits = Float32Array.from([0, 0]);
    const counts = drawCounts(logits, { temperature: 0.05, frequencyPenalty: 2 }, 200);
    expect(counts).toEqual([100, 100]);
  });
});
