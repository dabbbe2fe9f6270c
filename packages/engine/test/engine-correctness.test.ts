// Real ONNX Runtime on the tiny model, in both KV layouts the engine serves (standard, append):
// the engine's batching, caching and chunking must not change tokens.
import { join } from "node:path";
import type { SamplingParams } from "@llm/sampling";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Engine, TokenEvent } from "../src/index.js";
import { collect, fullRecompute, promptOf, request, type TinyPreset, tinyEngine, tinyModelDir } from "./helpers.js";

async function tinyRecompute(prompt: number[], steps: number): Promise<number[]> {
  const file = join(await tinyModelDir(), "onnx", "model.onnx");
  return fullRecompute(file, { kvHeads: 4, headDim: 16, dtype: "float32" }, prompt, steps);
}

describe.each<TinyPreset>(["tiny", "tiny-append"])("engine correctness (%s model, real ORT)", (preset) => {
  let engine: Engine<SamplingParams>;
  beforeAll(async () => {
    engine = await tinyEngine({ prefillChunkTokens: 32, maxStepTokens: 64 }, preset);
  });
  afterAll(() => engine.close());

  it("KV-cached greedy generation equals full recompute for 32 tokens", async () => {
    const prompt = promptOf(20, 1);
    const { tokens, final } = await collect(engine.submit(request("kv", prompt, 32)));
    expect(final).toMatchObject({ finishReason: "length", usage: { promptTokens: 20, completionTokens: 32 } });
    expect(tokens).toEqual(await tinyRecompute(prompt, 32));
  });

  for (const [mode, sampling] of [
    ["greedy", { temperature: 0 }],
    ["seeded sampling", { temperature: 1.3, seed: 42 }],
  ] as const) {
    it(`gives each sequence the same tokens alone and batched with others joining and leaving (${mode})`, async () => {
      const specs = [
        { id: "main", prompt: promptOf(23, 2), max: 40, joinAfter: -1 },
        { id: "short", prompt: promptOf(5, 3), max: 6, joinAfter: -1 },
        { id: "late", prompt: promptOf(11, 4), max: 12, joinAfter: 5 },
        { id: "long-prompt", prompt: promptOf(150, 5), max: 8, joinAfter: 10 },
      ];
      const run = (spec: (typeof specs)[number], id: string, onToken?: (e: TokenEvent) => void) =>
        collect(engine.submit(request(id, spec.prompt, spec.max, { ...sampling, seed: specs.indexOf(spec) })), onToken);
      const alone: Record<string, number[]> = {};
      for (const spec of specs) alone[spec.id] = (await run(spec, `${spec.id}-alone`)).tokens;

      const batched: Record<string, number[]> = {};
      const others: Promise<void>[] = [];
      const launch = (spec: (typeof specs)[number]) => {
        others.push(
          run(spec, spec.id).then((c) => {
            batched[spec.id] = c.tokens;
          }),
        );
      };
      let peakRunning = 0;
      const main = run(specs[0], "main", (e) => {
        peakRunning = Math.max(peakRunning, engine.info().running);
        for (const spec of specs) if (spec.joinAfter === e.index) launch(spec);
      });
      launch(specs[1]);
      batched.main = (await main).tokens;
      await Promise.all(others);
      expect(peakRunning).toBeGreaterThanOrEqual(2);
      for (const spec of specs) expect(batched[spec.id], spec.id).toEqual(alone[spec.id]);
    });
  }

  it("continues a request from its delivered output as the uninterrupted run (seeded sampling, penalties)", async () => {
    const sampling = { temperature: 0.9, topP: 0.95, seed: 77, presencePenalty: 0.6 };
    const prompt = promptOf(9, 6);
    const whole = await collect(engine.submit(request("whole", prompt, 40, sampling)));
    const delivered = whole.tokens.slice(0, 17);
    const rest = await collect(engine.submit({ ...request("rest", prompt, 40, sampling), outputIds: delivered }));
    expect(rest.events[0].index).toBe(17);
    expect(rest.tokens).toEqual(whole.tokens.slice(17));
    expect(rest.final.usage).toMatchObject({ promptTokens: 9, completionTokens: 40 });
    // Everything delivered already: it ends at once, as the first runner would have.
    const done = await collect(engine.submit({ ...request("done", prompt, 40, sampling), outputIds: whole.tokens }));
    expect(done.tokens).toEqual([]);
    expect(done.final).toMatchObject({ finishReason: "length", usage: { completionTokens: 40 } });
  });

  it("chunked prefill equals unchunked prefill", async () => {
    const prompt = promptOf(150, 6);
    const chunked = await collect(engine.submit(request("chunked", prompt, 16)));
    const whole = await tinyEngine({ prefillChunkTokens: 512, maxStepTokens: 1024, prefixCacheBytes: 0 }, preset);
    try {
      expect((await collect(whole.submit(request("whole", prompt, 16)))).tokens).toEqual(chunked.tokens);
    } finally {
      await whole.close();
    }
  });

  it("reuses a cached prefix, reports it, and yields the same tokens as a miss", async () => {
    const prompt = promptOf(45, 7);
    const miss = await collect(engine.submit(request("miss", prompt, 12)));
    expect(miss.final.usage.cachedPromptTokens).toBe(0);
    const hitsBefore = engine.info().prefixCache.hits;
    const hit = await collect(engine.submit(request("hit", prompt, 12)));
    expect(hit.final.usage.cachedPromptTokens).toBe(32);
    expect(hit.tokens).toEqual(miss.tokens);
    expect(engine.info().prefixCache.hits).toBe(hitsBefore + 1);

    // Another tenant's salt never sees these blocks.
    const other = await collect(engine.submit({ ...request("salted", prompt, 12), cacheSalt: "tenant-b" }));
    expect(other.final.usage.cachedPromptTokens).toBe(0);
    expect(other.tokens).toEqual(miss.tokens);
  });

  it("passes the sampler's logprobs and alternatives through to token events", async () => {
    const sampling = { temperature: 0, logprobs: true, topLogprobs: 3 };
    const { events } = await collect(engine.submit(request("logprobs", promptOf(9, 8), 4, sampling)));
    for (const event of events) {
      expect(event.logprob).toBeLessThanOrEqual(0);
      expect(event.topLogprobs?.map((t) => t.tokenId)[0]).toBe(event.tokenId); // greedy picks the top one
      expect(event.topLogprobs).toHaveLength(3);
    }
  });
});
