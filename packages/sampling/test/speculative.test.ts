// Speculative verification: verify() draws exactly the tokens plain sampling draws (any seed, params, proposals),
// so the output distribution is the target's whatever the proposer; a chi-square test shows it over 20,000 seeds
// and fails for a tempting wrong acceptance rule.
import { type BatchSample, isBatchFailure, Sampler, type SamplingParams } from "@llm/sampling";
import { describe, expect, it } from "vitest";
import { chiSquare, chiSquareCritical, logitsFor, randomLogits, testRandom } from "./helpers.js";

const VOCAB = 300;

const PARAMS: [string, SamplingParams][] = [
  ["greedy", { temperature: 0 }],
  ["temperature 1", { temperature: 1 }],
  [
    "top-p, top-k and penalties",
    { temperature: 0.8, topP: 0.9, topK: 40, repetitionPenalty: 1.3, frequencyPenalty: 0.5 },
  ],
  ["min-p, bias and logprobs", { temperature: 1.2, minP: 0.05, logitBias: { 3: 5 }, logprobs: true, topLogprobs: 3 }],
  ["the greedy strategy", { strategy: "greedy", presencePenalty: 1 }],
];

function sampled(result: ReturnType<Sampler["sampleBatch"]>[number]): BatchSample {
  if (isBatchFailure(result)) throw result.error;
  return result;
}

describe("verify", () => {
  it.each(PARAMS)("draws the tokens plain sampling draws, token for token (%s)", (_, params) => {
    const random = testRandom(99);
    for (let seed = 0; seed < 60; seed++) {
      const plain = new Sampler({ vocabSize: VOCAB });
      const speculative = new Sampler({ vocabSize: VOCAB });
      const prompt = [1, 2, 3, seed % VOCAB];
      plain.open("s", { params, seed, promptTokenIds: prompt });
      speculative.open("s", { params, seed, promptTokenIds: prompt });
      let produced = 0;
      while (produced < 40) {
        const k = Math.floor(random() * 5);
        // Rows of different models' shapes; proposals either what the plain sampler would draw or random.
        const rows = Array.from({ length: k + 1 }, (_, j) => randomLogits(VOCAB, seed * 1000 + produced * 10 + j, 2));
        const expected: BatchSample[] = [];
        const proposed: number[] = [];
        for (let j = 0; j <= k; j++) {
          const token = sampled(plain.sampleBatch([{ sequenceId: "s", logits: rows[j] }])[0]);
          expected.push(token);
          if (j === k) break;
          const guess = random() < 0.7 ? token.tokenId : Math.floor(random() * VOCAB);
          proposed.push(guess);
          if (guess !== token.tokenId) break;
        }
        while (proposed.length < k) proposed.push(Math.floor(random() * VOCAB)); // past a rejection: never read
        const joined = new Float32Array(VOCAB * (k + 1));
        rows.forEach((row, j) => {
          joined.set(row, j * VOCAB);
        });
        const result = sampled(speculative.sampleBatch([{ sequenceId: "s", logits: joined, proposed }])[0]);
        const { sequenceId: _id, accepted = [], ...last } = result;
        const drawn = [...accepted, last];
        expect(drawn).toEqual(expected.map(({ sequenceId: _s, ...token }) => token));
        produced += drawn.length;
      }
    }
  });

  it("refuses rows that do not match the proposals", () => {
    const sampler = new Sampler({ vocabSize: 4 });
    sampler.open("s", { params: { temperature: 0 } });
    const [result] = sampler.sampleBatch([{ sequenceId: "s", logits: new Float32Array(8), proposed: [1, 2] }]);
    expect(isBatchFailure(result) && result.error.message).toBe(
      "logits have 8 entries but 3 rows of the 4-token vocabulary need 12",
    );
  });
});

describe("the speculative token distribution", () => {
  const target = [0.3, 0.25, 0.15, 0.1, 0.08, 0.06, 0.04, 0.02];
  const draft = [0.1, 0.1, 0.3, 0.05, 0.2, 0.05, 0.15, 0.05];
  const SEEDS = 20_000;

  /** First-token counts over SEEDS seeds: a coupled draft proposal, verified on the target's row by `rule`. */
  function counts(rule: "verify" | "accept-if-likely") {
    const targetRow = logitsFor(target);
    const draftRow = logitsFor(draft);
    const observed = new Array<number>(target.length).fill(0);
    let accepted = 0;
    for (let seed = 0; seed < SEEDS; seed++) {
      const sampler = new Sampler({ vocabSize: target.length });
      sampler.open("s", { params: { temperature: 1 }, seed });
      const [proposal] = sampler.propose([{ sequenceId: "s", logits: draftRow, ahead: 0 }]) as number[];
      const rows = new Float32Array(2 * target.length);
      rows.set(targetRow);
      rows.set(targetRow, target.length);
      const result = sampled(sampler.sampleBatch([{ sequenceId: "s", logits: rows, proposed: [proposal] }])[0]);
      const first = result.accepted?.[0]?.tokenId ?? result.tokenId;
      if (first === proposal) accepted++;
      // A shortcut that looks harmless: keep any proposal the target finds likely enough.
      const token = rule === "accept-if-likely" && target[proposal] >= 0.1 ? proposal : first;
      observed[token]++;
    }
    return { observed, acceptance: accepted / SEEDS };
  }

  it("is the target's with coupled draft proposals (chi-square over 20,000 seeds)", () => {
    const { observed, acceptance } = counts("verify");
    expect(chiSquare(observed, target)).toBeLessThan(chiSquareCritical(target.length - 1));
    // The coupling's acceptance is at least (1 - TV) / (1 + TV) of the maximal coupling's 1 - TV (TV = 0.4 here).
    const tv = target.reduce((sum, p, i) => sum + Math.abs(p - draft[i]), 0) / 2;
    expect(acceptance).toBeGreaterThan((1 - tv) / (1 + tv));
  });

  it("is not the target's under a wrong acceptance rule (the test can fail)", () => {
    const { observed } = counts("accept-if-likely");
    expect(chiSquare(observed, target)).toBeGreaterThan(chiSquareCritical(target.length - 1));
  });
});
