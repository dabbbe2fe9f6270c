// The example plugin against an independent float64 computation of the typical set.
import { createStrategyRegistry, Sampler, type SamplingParams } from "@llm/sampling";
import { describe, expect, it } from "vitest";
import { register } from "../plugins/typical.js";

const VOCAB = 64;

function logitsOf(seed: number): Float32Array {
  // Deterministic, uneven logits: a few likely tokens and a long tail.
  return Float32Array.from(
    { length: VOCAB },
    (_, i) => Math.sin(i * 12.9898 + seed * 78.233) * 4 + (i % 7 === 0 ? 3 : 0),
  );
}

/** Hugging Face's TypicalLogitsWarper in float64: the ids it keeps for mass τ. */
function typicalSet(logits: Float32Array, mass: number): Set<number> {
  const max = Math.max(...logits);
  const weights = Array.from(logits, (v) => Math.exp(v - max));
  const total = weights.reduce((a, b) => a + b, 0);
  const p = weights.map((w) => w / total);
  const entropy = -p.reduce((sum, q) => sum + (q > 0 ? q * Math.log(q) : 0), 0);
  const deviation = p.map((q) => Math.abs(-Math.log(q) - entropy));
  const order = p.map((_, i) => i).sort((a, b) => deviation[a] - deviation[b] || a - b);
  const kept = new Set<number>();
  let cumulative = 0;
  for (const id of order) {
    if (cumulative >= mass) break;
    kept.add(id);
    cumulative += p[id];
  }
  return kept;
}

function samplerWithPlugin(): Sampler {
  const registry = createStrategyRegistry();
  register(registry);
  return new Sampler({ vocabSize: VOCAB, registry });
}

function draw(sampler: Sampler, params: SamplingParams, seed: number, logits: Float32Array): number {
  const id = `s${seed}`;
  sampler.open(id, { params, seed });
  const [result] = sampler.sampleBatch([{ sequenceId: id, logits }]);
  sampler.close(id);
  if ("error" in result) throw result.error;
  return result.tokenId;
}

describe("typical sampling plugin", () => {
  it("registers under the name 'typical' with a description", () => {
    const sampler = samplerWithPlugin();
    expect(sampler.strategies().find((s) => s.name === "typical")?.description).toMatch(/entropy/);
  });

  it("draws only from the typical set, and from more than one of its tokens", () => {
    const sampler = samplerWithPlugin();
    for (const [logitSeed, mass] of [
      [1, 0.5],
      [2, 0.2],
      [3, 0.9],
    ]) {
      const logits = logitsOf(logitSeed);
      const allowed = typicalSet(logits, mass);
      const drawn = new Set<number>();
      for (let seed = 0; seed < 300; seed++)
        drawn.add(draw(sampler, { strategy: "typical", topP: mass }, seed, logits));
      for (const id of drawn) expect(allowed.has(id), `token ${id} outside the typical set`).toBe(true);
      if (allowed.size > 1) expect(drawn.size).toBeGreaterThan(1);
    }
  });

  it("with a tiny mass always picks the token whose surprisal is closest to the entropy", () => {
    const sampler = samplerWithPlugin();
    const logits = logitsOf(4);
    const [only] = typicalSet(logits, 1e-9);
    for (let seed = 0; seed < 20; seed++)
      expect(draw(sampler, { strategy: "typical", topP: 1e-9 }, seed, logits)).toBe(only);
  });

  it("equals the standard pipeline when τ = 1 (no filter), and greedy at temperature 0", () => {
    const sampler = samplerWithPlugin();
    const logits = logitsOf(5);
    for (let seed = 0; seed < 20; seed++) {
      expect(draw(sampler, { strategy: "typical" }, seed, logits)).toBe(
        draw(sampler, { strategy: "standard" }, seed, logits),
      );
      expect(draw(sampler, { strategy: "typical", temperature: 0, topP: 0.3 }, seed, logits)).toBe(
        draw(sampler, { strategy: "greedy" }, seed, logits),
      );
    }
  });
});
