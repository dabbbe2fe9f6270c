// Speculative decoding is exact: with either proposer, greedy and seeded sampling give the tokens plain decoding
// gives, token for token, alone and in batches that sequences join and leave, on both KV layouts and on the
// trained demo pair; rollbacks leave a cache that recomputes the same tokens; cancelling mid-verify frees it all.
import { silentLog } from "@llm/log";
import { ensureModel } from "@llm/model-pack";
import { Sampler, type SamplingParams } from "@llm/sampling";
import { describe, expect, it } from "vitest";
import {
  DraftModel,
  type Engine,
  type EngineStep,
  inProcessSampler,
  type SpeculationOptions,
  type SpeculationPolicy,
  type SpeculativeMode,
  type StepSpeed,
} from "../src/index.js";
import { type Collected, collect, folderEngine, fullRecompute, presetEngine, promptOf, request } from "./helpers.js";

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

/**
 * Four proposals for every row of every step: these tests are about exactness, not speed (the default policy
 * weighs measured costs, and turns speculation off past 8 rows).
 */
const EAGER: SpeculationPolicy = { lookahead: () => 4 };

async function draftOf(preset: string, vocabSize: number): Promise<DraftModel> {
  return DraftModel.load({ modelDir: (await ensureModel(preset)).dir, providers: ["cpu"], log: silentLog }, vocabSize);
}

interface Workload {
  prompts: number[][];
  maxTokens: (i: number) => number;
  sampling: (i: number) => SamplingParams;
}

/**
 * Half the requests start together; the other half join once the first has 8 tokens; lengths differ, so rows
 * leave while others decode. Tokens per request, and every step the engine reported.
 */
async function run(engine: Engine<SamplingParams>, work: Workload, speculative?: SpeculativeMode) {
  const half = Math.ceil(work.prompts.length / 2);
  const submit = (i: number) =>
    collect(engine.submit({ ...request(`r${i}`, work.prompts[i], work.maxTokens(i), work.sampling(i)), speculative }));
  let second: Promise<Collected>[] = [];
  const first = work.prompts.slice(0, half).map((_, i) =>
    i > 0
      ? submit(i)
      : collect(
          engine.submit({ ...request("r0", work.prompts[0], work.maxTokens(0), work.sampling(0)), speculative }),
          (e) => {
            if (e.index === 8) second = work.prompts.slice(half).map((_, j) => submit(half + j));
          },
        ),
  );
  const done = await Promise.all(first);
  done.push(...(await Promise.all(second)));
  return done;
}

async function withEngine<T>(
  preset: string,
  speculation: SpeculationOptions | undefined,
  body: (e: Engine<SamplingParams>, steps: EngineStep[]) => Promise<T>,
  maxBatchSize = 16,
) {
  const steps: EngineStep[] = [];
  const observer = { onStep: (step: EngineStep) => steps.push(step) };
  const engine = await presetEngine(preset, { speculation, observer, maxBatchSize });
  try {
    return await body(engine, steps);
  } finally {
    await engine.close();
  }
}

/** A prompt that repeats itself, so its continuation has n-grams to look up. */
function copyHeavy(length: number, salt: number, vocab: number): number[] {
  const phrase = Array.from({ length: 7 + (salt % 5) }, (_, i) => (i * 7919 + salt * 131 + 5) % vocab);
  return Array.from({ length }, (_, i) => phrase[i % phrase.length]);
}

const GREEDY = () => ({ temperature: 0 });
const SEEDED = (i: number) => ({ temperature: 0.9, topP: 0.95, seed: 1000 + i });

const CASES = [
  // Same weights, the other KV layout as the draft: every proposal the target's own token (full acceptance).
  { target: "tiny", draft: "tiny-append", vocab: 50_257, streams: 10, tokens: 120, promptLength: 40, agrees: true },
  { target: "tiny-append", draft: "tiny", vocab: 50_257, streams: 10, tokens: 120, promptLength: 40, agrees: true },
  // The trained pair: partial acceptance, many rollbacks (128-position context).
  { target: "demo", draft: "demo-draft", vocab: 4096, streams: 16, tokens: 90, promptLength: 30, agrees: true },
  // GPT-2 small's shape (124M parameters, random weights), tiny (the same tokenizer) as its draft: two unrelated
  // random models, so proposals are made and rejected (and n-grams seldom recur in 24 tokens).
  { target: "gpt2-small", draft: "tiny", vocab: 50_257, streams: 4, tokens: 24, promptLength: 20, agrees: false },
];

describe.each(CASES)(
  "speculative == plain on $target",
  ({ target, draft, vocab, streams, tokens, promptLength, agrees }) => {
    const prompts = Array.from({ length: streams }, (_, i) =>
      i % 2 === 0
        ? copyHeavy(promptLength - (i % 7), i, vocab)
        : promptOf(promptLength - (i % 5), i).map((id) => id % vocab),
    );
    const maxTokens = (i: number) => tokens - (i % 4) * Math.floor(tokens / 8);

    for (const [mode, sampling] of [
      ["greedy", GREEDY],
      ["seeded sampling", SEEDED],
    ] as const) {
      it(`${mode}: n-gram and draft proposals give the plain tokens, batched with joins and leaves`, async () => {
        const work = { prompts, maxTokens, sampling };
        const plain = await withEngine(target, undefined, (engine) => run(engine, work));
        const proposer = await draftOf(draft, vocab);
        const speculation = { draft: proposer, policy: EAGER };
        await withEngine(target, speculation, async (engine, steps) => {
          for (const speculative of ["ngram", "draft"] as const) {
            const outputs = await run(engine, work, speculative);
            outputs.forEach((output, i) => {
              expect(output.tokens, `${speculative} request ${i}`).toEqual(plain[i].tokens);
              // (Random weights sampled at temperature 0.9 seldom repeat an n-gram: no proposal is possible there.)
              if (speculative === "draft" || (agrees && mode === "greedy"))
                expect(output.final.usage.proposedTokens, `${speculative} request ${i}`).toBeGreaterThan(0);
            });
            const accepted = outputs.reduce((sum, o) => sum + (o.final.usage.acceptedTokens ?? 0), 0);
            if (agrees && (speculative === "draft" || mode === "greedy"))
              expect(accepted, `${speculative}: accepted`).toBeGreaterThan(0);
          }
          const verifies = steps.filter((step) => step.verify);
          expect(verifies.length).toBeGreaterThan(0);
          expect(Math.max(...verifies.map((step) => step.verify?.lookahead ?? 0))).toBe(4);
        });
      }, 240_000);
    }
  },
);

describe("speculative decoding alone", () => {
  it.each([
    ["tiny", "ngram", 50_257, { kvHeads: 4, headDim: 16 }],
    ["demo", "draft", 4096, { kvHeads: 4, headDim: 64 }],
  ] as const)(
    "greedy after rollbacks == a full recompute without any cache (%s, %s)",
    async (preset, mode, vocab, kv) => {
      const prompts = [copyHeavy(30, 3, vocab), promptOf(24, 3).map((id) => id % vocab)];
      const model = await ensureModel(preset);
      const proposer = mode === "draft" ? await draftOf("demo-draft", vocab) : undefined;
      await withEngine(preset, { draft: proposer, defaultMode: mode, policy: EAGER }, async (engine) => {
        let rolledBack = 0;
        for (const prompt of prompts) {
          const expected = await fullRecompute(`${model.dir}/onnx/model.onnx`, { ...kv, dtype: "float32" }, prompt, 90);
          const output = await collect(engine.submit(request("alone", prompt, 90)));
          expect(output.tokens).toEqual(expected);
          rolledBack += (output.final.usage.proposedTokens ?? 0) - (output.final.usage.acceptedTokens ?? 0);
        }
        expect(rolledBack).toBeGreaterThan(0);
      });
    },
    120_000,
  );

  it("edges: 1-2 tokens, a one-token prompt, the context's last position, stop tokens and EOS inside a run, logprobs", async () => {
    const copy = copyHeavy(30, 5, 4096);
    const cases = [
      { name: "max 1", req: request("e1", copy, 1) },
      { name: "max 2", req: request("e2", copy, 2) },
      { name: "one-token prompt", req: request("e3", [copy[0]], 40) },
      { name: "to the context's end", req: request("e4", copy, 128 - copy.length) },
      { name: "stop token in a run", req: { ...request("e5", copy, 60), stopTokenIds: [copy[9]] } },
      { name: "eos", req: { ...request("e6", copy, 60), ignoreEos: false } },
      { name: "logprobs", req: request("e7", copy, 40, { temperature: 0.7, seed: 4, logprobs: true, topLogprobs: 2 }) },
    ];
    const plain = await withEngine("demo", undefined, (engine) =>
      Promise.all(cases.map(({ req }) => collect(engine.submit(req)))),
    );
    for (const speculative of ["ngram", "draft"] as const) {
      const draft = await draftOf("demo-draft", 4096); // the engine owns it: released with the engine
      const outputs = await withEngine("demo", { draft, policy: EAGER }, (engine) =>
        Promise.all(cases.map(({ req }) => collect(engine.submit({ ...req, speculative })))),
      );
      outputs.forEach((output, i) => {
        const name = `${speculative}: ${cases[i].name}`;
        expect(output.tokens, name).toEqual(plain[i].tokens);
        expect(output.final.finishReason, name).toBe(plain[i].final.finishReason);
        expect(
          output.events.map((e) => e.index),
          name,
        ).toEqual(plain[i].events.map((e) => e.index));
        // Logprobs of a verify row come from a k+1-token forward: equal to plain decoding's within float error.
        output.events.forEach((event, j) => {
          expect(event.logprob ?? 0, name).toBeCloseTo(plain[i].events[j].logprob ?? 0, 4);
          expect(
            event.topLogprobs?.map((t) => t.tokenId),
            name,
          ).toEqual(plain[i].events[j].topLogprobs?.map((t) => t.tokenId));
        });
      });
    }
  }, 120_000);

  it("refuses a draft request on an engine without a draft model", async () => {
    await withEngine("tiny", undefined, async (engine) => {
      expect(() => engine.submit({ ...request("d", [1, 2, 3], 4), speculative: "draft" })).toThrow(
        /speculative "draft" needs a draft model/,
      );
    });
  });

  it("catches a draft up after plain steps, and tells the policy those steps' catch-up time", async () => {
    const seen: StepSpeed[] = [];
    let step = 0;
    // On, off, on, …: every step that speculates follows one that did not, so the draft prefills the row again.
    const alternating: SpeculationPolicy = {
      speculate: () => step++ % 2 === 0,
      lookahead: () => 2,
      observe: (speed) => seen.push(speed),
    };
    // The draft has the target's weights: every proposal of a draft cache in step with its sequence is accepted.
    const draft = await draftOf("tiny-append", 50_257);
    const { final } = await withEngine("tiny", { draft, policy: alternating }, (engine) =>
      collect(engine.submit({ ...request("u", copyHeavy(60, 1, 50_257), 24), speculative: "draft" })),
    );
    expect(final.usage.acceptedTokens).toBe(final.usage.proposedTokens);
    const verifying = seen.filter((speed) => speed.speculated);
    expect(verifying.length).toBeGreaterThan(3);
    for (const speed of verifying) expect(speed.catchUpMs).toBeGreaterThan(0);
    for (const speed of seen.filter((s) => !s.speculated)) expect(speed.catchUpMs).toBe(0);
  }, 60_000);

  it("prices the draft by its recent forwards, and forgets them while idle (a cost measured too high recovers)", async () => {
    const draft = await draftOf("tiny-append", 50_257);
    expect(draft.forwardMs).toBeUndefined();
    await withEngine("tiny", { draft, policy: EAGER }, async (engine) => {
      await collect(engine.submit({ ...request("p", copyHeavy(30, 2, 50_257), 12), speculative: "draft" }));
      expect(draft.forwardMs).toBeGreaterThan(0);
      for (let i = 0; i < 15; i++) draft.idle();
      expect(draft.forwardMs).toBeUndefined(); // the prior again, until the next forwards
    });
  }, 60_000);

  it("the default policy stops speculating in a big batch", async () => {
    await withEngine("tiny", { defaultMode: "ngram" }, async (engine, steps) => {
      const prompts = Array.from({ length: 12 }, (_, i) => copyHeavy(30, i, 50_257));
      await Promise.all(prompts.map((prompt, i) => collect(engine.submit(request(`b${i}`, prompt, 30)))));
      const big = steps.filter((step) => step.decodeTokens > 0 && step.requestIds.length > 8);
      expect(big.length).toBeGreaterThan(0);
      for (const step of big) expect(step.verify).toBeUndefined();
    });
  }, 60_000);

  it("cancelling and deadlines mid-verify free every slot, cache row and sampler state", async () => {
    const proposer = await draftOf("demo-draft", 4096);
    const library = new Sampler({ vocabSize: 4096 });
    const steps: EngineStep[] = [];
    const engine = await folderEngine(
      (await ensureModel("demo")).dir,
      {
        speculation: { draft: proposer, defaultMode: "draft", policy: EAGER },
        observer: { onStep: (step) => steps.push(step) },
      },
      inProcessSampler(library),
    );
    try {
      const controllers = Array.from({ length: 6 }, () => new AbortController());
      const runs = controllers.map((controller, i) =>
        collect(
          engine.submit({ ...request(`c${i}`, copyHeavy(20, i, 4096), 90), signal: controller.signal }),
          (event) => {
            if (event.index === 5 + i) controller.abort();
          },
        ),
      );
      const outputs = await Promise.all(runs);
      for (const output of outputs) expect(output.final.finishReason).toBe("cancelled");
      expect(steps.some((step) => step.verify)).toBe(true);
      await until(() => engine.info().running === 0);
      const info = engine.info();
      expect(info.kvBytesUsed).toBe(0);
      expect(info.kvBytesAllocated).toBe(0); // the decode batch's and the draft's caches included
      expect(library.openSequences).toBe(0);
    } finally {
      await engine.close();
    }
  }, 120_000);
});
