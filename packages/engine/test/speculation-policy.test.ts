// The pieces of speculation that need no model: prompt lookup, the cost the engine learns from its steps, and the
// default policy's choice of k.
import { describe, expect, it } from "vitest";
import { promptLookup } from "../src/speculation/ngram.js";
import { loadAwarePolicy, policyNamed } from "../src/speculation/policy.js";
import { Speculator } from "../src/speculation/speculator.js";
import { SpeedLedger } from "../src/speculation/speed-ledger.js";
import { acceptanceOf, type SpeculationState } from "../src/speculation/state.js";
import { StepCost } from "../src/speculation/step-cost.js";

describe("promptLookup", () => {
  it("proposes what followed the most recent occurrence of the longest suffix", () => {
    // Suffix [7, 8] occurs at 1-2 (then 9, 10) and at 5-6 (then 11): the most recent wins.
    expect(promptLookup([1, 7, 8, 9, 10, 7, 8, 11, 3, 7, 8], 3)).toEqual([11, 3, 7]);
    // A longer match beats a more recent shorter one: [5, 6, 7] at 0-2, [7] alone later.
    expect(promptLookup([5, 6, 7, 1, 2, 7, 3, 5, 6, 7], 2)).toEqual([1, 2]);
  });

  it("stops at the sequence's end, at k, and finds nothing when no suffix recurs", () => {
    expect(promptLookup([4, 4, 4], 5)).toEqual([4]); // a run: the shifted match proposes its last token
    expect(promptLookup([1, 2, 3, 1, 2], 1)).toEqual([3]);
    expect(promptLookup([1, 2, 3, 4], 4)).toEqual([]);
    expect(promptLookup([9], 4)).toEqual([]);
    expect(promptLookup([1, 2, 1, 2], 0)).toEqual([]);
  });
});

describe("StepCost", () => {
  it("learns fixed + per-position time from the steps, and prices a position against a plain step", () => {
    const cost = new StepCost();
    expect(cost.perPosition(1)).toBe(0); // nothing seen: optimistic
    cost.observe(1, 1.0);
    cost.observe(1, 1.0);
    expect(cost.perPosition(1)).toBe(0); // one size only: no slope yet
    for (let i = 0; i < 100; i++) {
      cost.observe(1, 1.0);
      cost.observe(5, 1.4);
    }
    // 0.9 ms fixed + 0.1 ms a position: one more position is 0.1 of a 1-row step, 0.1 / 1.3 of a 4-row one.
    expect(cost.perPosition(1)).toBeCloseTo(0.1, 6);
    expect(cost.perPosition(4)).toBeCloseTo(0.1 / 1.3, 6);
    expect(cost.plainStepMs(8)).toBeCloseTo(1.7, 6);
  });
});

describe("the fixed policy", () => {
  it("proposes the maximum at any acceptance and cost up to its batch size, none above, and never asks the clock", () => {
    const policy = policyNamed("fixed", { maxLookahead: 3, maxBatchSize: 8 });
    expect(policy.lookahead({ batchSize: 1, acceptance: 0, proposer: "draft", proposalCost: 5 })).toBe(3);
    expect(policy.lookahead({ batchSize: 8, acceptance: 1, proposer: "ngram", proposalCost: 0 })).toBe(3);
    expect(policy.lookahead({ batchSize: 9, acceptance: 1, proposer: "ngram", proposalCost: 0 })).toBe(0);
    expect(policy.speculate).toBeUndefined();
  });
});

describe("the default policy", () => {
  const policy = loadAwarePolicy({ maxLookahead: 4, maxBatchSize: 8 });
  const k = (acceptance: number, proposalCost: number, batchSize = 1) =>
    policy.lookahead({ batchSize, acceptance, proposer: "draft", proposalCost });

  it("proposes the k-th token while acceptance^k beats its cost", () => {
    expect(k(1, 0)).toBe(4);
    expect(k(0.5, 0.2)).toBe(2); // 0.5, 0.25 > 0.2; 0.125 is not
    expect(k(0.9, 0.3)).toBe(4);
    expect(k(0.14, 0.2)).toBe(0);
    expect(k(0.14, 0)).toBe(1); // free proposals still need a tenth of a chance to be used
  });

  it("halves k past half the crossover and stops above it", () => {
    expect(k(1, 0, 5)).toBe(2);
    expect(k(1, 0, 8)).toBe(2);
    expect(k(1, 0, 9)).toBe(0);
  });
});

describe("SpeedLedger", () => {
  it("verifies while verifying steps emit tokens faster, stops when they are slower, and keeps measuring both", () => {
    const ledger = new SpeedLedger();
    const choices = (steps: number) => Array.from({ length: steps }, () => ledger.speculate(4, "draft"));
    expect(choices(7).every(Boolean)).toBe(true); // nothing measured: speculate
    expect(ledger.speculate(4, "draft")).toBe(false); // every 8th step the other way: a plain figure
    ledger.observe(4, "draft", false, 4, 4); // 1 ms a token plain
    ledger.observe(4, "draft", true, 4.4, 4); // 1.1 ms a token verifying: losing, by little
    expect(choices(16).filter(Boolean)).toHaveLength(2); // only the exploring steps (1 in 8) verify
    for (let i = 0; i < 20; i++) ledger.observe(4, "draft", true, 4, 8); // verifying now 0.5 ms a token: far ahead
    expect(choices(128).filter(Boolean)).toHaveLength(126); // 1 step in 64 checks the plain figure
    for (let i = 0; i < 20; i++) ledger.observe(4, "draft", true, 4.2, 4); // 1.05 ms a token: close again
    expect(choices(16).filter(Boolean)).toHaveLength(2);
    expect(ledger.speculate(1, "draft")).toBe(true); // another batch size has its own figures
    // Another proposer has its own verifying figure (n-gram steps that lose must not turn a paying draft off),
    // against the same plain one.
    for (let i = 0; i < 7; i++) expect(ledger.speculate(4, "ngram")).toBe(true);
    ledger.observe(4, "ngram", true, 8, 4); // 2 ms a token: far behind
    expect(choices(1)).toEqual([false]); // the draft's figure (1.05) is unchanged
    expect(Array.from({ length: 64 }, () => ledger.speculate(4, "ngram")).filter(Boolean)).toHaveLength(1);
  });
});

describe("a sequence's acceptance", () => {
  it("counts the proposals a verify step judged: a run ends at its first rejection", () => {
    const speculator = new Speculator({ defaultMode: "ngram" }, { contextLength: 128, paddingPeriod: 1 });
    const state = speculator.begin(undefined, true) as SpeculationState;
    const seq = { speculation: state } as unknown as Parameters<Speculator["record"]>[0];
    expect(acceptanceOf(state)).toBe(1);
    speculator.record(seq, 4, 1); // accepted, rejected; the last two were never judged: 1 of 2, beside the prior's 2 of 2
    expect(acceptanceOf(state)).toBeCloseTo((0.8 * 2 + 1) / (0.8 * 2 + 2), 12);
    speculator.record(seq, 4, 4);
    expect(acceptanceOf(state)).toBeCloseTo((0.8 * 2.6 + 4) / (0.8 * 3.6 + 4), 12);
    expect([state.proposedTokens, state.acceptedTokens]).toEqual([8, 5]); // usage counts every proposal
  });
});

describe("the default policy's speed figures", () => {
  it("leave out the draft's catch-up: a step that mostly prefilled the draft still counts as a fast verify", () => {
    const policy = loadAwarePolicy();
    const gate = () => policy.speculate?.({ rows: 1, paddingPeriod: 4, proposers: "draft" });
    for (let i = 0; i < 7; i++) gate(); // the next is the exploring step: plain
    expect(gate()).toBe(false);
    policy.observe?.({ rows: 1, proposers: "draft", speculated: false, ms: 1, tokens: 1, catchUpMs: 0 }); // 1 ms a token
    // 5 ms for 3 tokens, 4 of them the draft's prefill: 0.33 ms a token verifying (1.67 counted whole: losing).
    policy.observe?.({ rows: 1, proposers: "draft", speculated: true, ms: 5, tokens: 3, catchUpMs: 4 });
    expect(gate()).toBe(true);
  });
});

describe("the default policy's step gate", () => {
  it("speculates with a lone row, or any batch when the layout has no padding period", () => {
    const policy = loadAwarePolicy();
    const step = (rows: number, paddingPeriod: number) =>
      policy.speculate?.({ rows, paddingPeriod, proposers: "ngram" });
    expect(step(1, 4)).toBe(true);
    expect(step(3, 4)).toBe(false);
    expect(step(3, 1)).toBe(true);
  });
});
