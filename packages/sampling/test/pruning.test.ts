// Exact candidate pruning: a sequence fed pruneRow's survivors must choose the very tokens (and report the very
// logprobs) it chooses from full rows, for every seed and step; rows with many tied logits probe the edges of
// top-k, top-p and min-p, where an off-by-one in the survivors would show.
import {
  createStrategyRegistry,
  isBatchFailure,
  type PruneSpec,
  pruneRow,
  Sampler,
  type SamplingParams,
  StrategyRegistry,
  standard,
  Workspace,
} from "@llm/sampling";
import { describe, expect, it } from "vitest";
import { randomLogits } from "./helpers.js";

const VOCAB = 3000;
const SEEDS = 60;
const STEPS = 150;
const CASES: Record<string, SamplingParams> = {
  greedy: { temperature: 0 },
  "greedy strategy + top logprobs": { strategy: "greedy", topLogprobs: 5 },
  "top-p": { temperature: 0.8, topP: 0.9 },
  "top-k + top-p + logprobs": { temperature: 1.2, topK: 50, topP: 0.95, logprobs: true },
  "min-p": { temperature: 1, minP: 0.05, topLogprobs: 20 },
  "top-k": { temperature: 0.7, topK: 8 },
};

/** Logits of (seed, step); every other step rounded to 0.25 so that ties sit at the truncation edges. */
function logitsOf(seed: number, step: number): Float32Array {
  const logits = randomLogits(VOCAB, seed * 100_003 + step, 2.5);
  if (step % 2 === 1) for (let i = 0; i < VOCAB; i++) logits[i] = Math.round(logits[i] * 4) / 4;
  return logits;
}

describe("exact candidate pruning", () => {
  for (const [name, params] of Object.entries(CASES)) {
    it(`${name}: same tokens and logprobs as full rows over ${SEEDS} seeds × ${STEPS} steps`, () => {
      const full = new Sampler({ vocabSize: VOCAB });
      const pruned = new Sampler({ vocabSize: VOCAB });
      const runnerWorkspace = new Workspace(VOCAB);
      let prunedSize = 0;
      for (let seed = 0; seed < SEEDS; seed++) {
        full.open(seed, { params, seed: BigInt(seed) });
        const spec = pruned.open(seed, { params, seed: BigInt(seed) }).pruneSpec;
        expect(spec).toBeDefined();
        for (let step = 0; step < STEPS; step++) {
          const logits = logitsOf(seed, step);
          const row = pruneRow(logits, spec as NonNullable<typeof spec>, runnerWorkspace);
          prunedSize += row.tokenIds.length;
          const [a] = full.sampleBatch([{ sequenceId: seed, logits }]);
          const [b] = pruned.sampleBatch([{ sequenceId: seed, logits: row }]);
          if (isBatchFailure(a) || isBatchFailure(b)) throw new Error("a sequence failed");
          expect(b).toEqual(a);
        }
      }
      // Pruning must actually prune: on average far fewer tokens than the vocabulary.
      expect(prunedSize / (SEEDS * STEPS)).toBeLessThan(VOCAB / 4);
    });
  }

  it("scatters the survivors into a full row for a strategy with a bound but no sampleSurvivors: same tokens", () => {
    const { sampleSurvivors, ...scattering } = standard;
    const registry = createStrategyRegistry().register("scattering", scattering);
    const params: SamplingParams = { strategy: "scattering", temperature: 0.9, topP: 0.8, minP: 0.01 };
    const full = new Sampler({ vocabSize: VOCAB });
    const pruned = new Sampler({ vocabSize: VOCAB, registry });
    const runnerWorkspace = new Workspace(VOCAB);
    for (let seed = 0; seed < 10; seed++) {
      full.open(seed, { params: { ...params, strategy: "standard" }, seed: BigInt(seed) });
      const spec = pruned.open(seed, { params, seed: BigInt(seed) }).pruneSpec as PruneSpec;
      for (let step = 0; step < 50; step++) {
        const logits = logitsOf(seed, step);
        const [a] = full.sampleBatch([{ sequenceId: seed, logits }]);
        const [b] = pruned.sampleBatch([{ sequenceId: seed, logits: pruneRow(logits, spec, runnerWorkspace) }]);
        expect(b).toEqual(a);
      }
    }
    expect(sampleSurvivors).toBeDefined();
  });

  it("declares no bound (full rows) when bias or penalties move logits, or for a strategy without one", () => {
    const sampler = new Sampler({ vocabSize: VOCAB, registry: new StrategyRegistry().register("standard", standard) });
    expect(sampler.open("a", { params: { repetitionPenalty: 1.1 } }).pruneSpec).toBeUndefined();
    expect(sampler.open("b", { params: { logitBias: { 5: 2 } } }).pruneSpec).toBeUndefined();
    const plugin = new StrategyRegistry().register("plain", { description: "x", sample: () => 0 });
    expect(
      new Sampler({ vocabSize: VOCAB, registry: plugin }).open("c", { params: { strategy: "plain" } }).pruneSpec,
    ).toBeUndefined();
  });

  it("refuses a pruned row for a sequence without a bound, and a malformed one, naming the problem", () => {
    const sampler = new Sampler({ vocabSize: VOCAB });
    sampler.open("penalised", { params: { repetitionPenalty: 1.2 }, promptTokenIds: [1] });
    sampler.open("plain", { params: { temperature: 0.5, topK: 3 } });
    const row = { tokenIds: [7], values: new Float32Array([1]), candidateCount: 1, logNormalizer: 0 };
    const [a, b] = sampler.sampleBatch([
      { sequenceId: "penalised", logits: row },
      { sequenceId: "plain", logits: { ...row, tokenIds: [VOCAB] } },
    ]);
    expect(isBatchFailure(a) && a.error.message).toMatch(/declared no candidate bound.*send the full row/);
    expect(isBatchFailure(b) && b.error.message).toMatch(/token id 3000 is outside \[0, 3000\)/);
  });
});
