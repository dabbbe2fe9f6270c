// Real ONNX Runtime on the tiny model: slots, cancellation, the KV budget, error isolation, provider fallback.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LlmError } from "@llm/errors";
import type { SamplingParams } from "@llm/sampling";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Engine, type EngineStep, type GenerateRequest, kvBytesPerToken, readModelConfig } from "../src/index.js";
import { createSession } from "../src/session.js";
import { collect, promptOf, request, tinyEngine, tinyModelDir } from "./helpers.js";

describe("engine scheduling (tiny model, real ORT)", () => {
  let engine: Engine<SamplingParams>;
  beforeAll(async () => {
    engine = await tinyEngine();
  });
  afterAll(() => engine.close());

  it("frees a cancelled request's slot within one step", async () => {
    const controller = new AbortController();
    let tokensAfterAbort = 0;
    const run = collect(
      engine.submit({ ...request("cancel-me", promptOf(10, 1), 900), signal: controller.signal }),
      (e) => {
        if (controller.signal.aborted) tokensAfterAbort++;
        else if (e.index === 3) controller.abort();
      },
    );
    const { final, tokens } = await run;
    expect(final.finishReason).toBe("cancelled");
    expect(tokensAfterAbort).toBeLessThanOrEqual(1); // at most the step already in flight
    expect(final.usage.completionTokens).toBe(tokens.length);
    expect(engine.info()).toMatchObject({ running: 0, waiting: 0, kvBytesUsed: 0 });
  });

  it("cancels when the consumer stops reading", async () => {
    for await (const event of engine.submit(request("dropped", promptOf(8, 2), 500))) {
      if (event.type === "token" && event.index === 2) break;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(engine.info().running).toBe(0);
  });

  it("ends a bad request with an error and leaves the others' tokens unchanged", async () => {
    const prompts = [promptOf(12, 3), promptOf(30, 4)];
    const alone = await Promise.all(prompts.map((p, i) => collect(engine.submit(request(`ok-alone-${i}`, p, 20)))));
    const [first, bad, second] = await Promise.all([
      collect(engine.submit(request("ok-0", prompts[0], 20))),
      collect(engine.submit(request("bad", promptOf(9, 5), 20, { temperature: 7 }))),
      collect(engine.submit(request("ok-1", prompts[1], 20))),
    ]);
    expect(bad.final.finishReason).toBe("error");
    expect(bad.final.error).toBeInstanceOf(LlmError);
    expect(bad.final.error?.code).toBe("invalid_argument");
    expect(bad.final.error?.message).toMatch(/temperature/);
    expect(first.tokens).toEqual(alone[0].tokens);
    expect(second.tokens).toEqual(alone[1].tokens);
  });

  it("rejects requests it can never serve with actionable messages", () => {
    const submit = (r: Partial<GenerateRequest<SamplingParams>>) => () =>
      engine.submit({ ...request("invalid", promptOf(4, 6), 4), ...r });
    expect(submit({ promptIds: [] })).toThrow(/no tokens/);
    expect(submit({ promptIds: [1, 50257] })).toThrow(/vocabulary \[0, 50257\)/);
    expect(submit({ maxTokens: 0 })).toThrow(/max_tokens/);
    expect(submit({ maxTokens: 1021 })).toThrow(/exceeds the model's context of 1024/);
  });
});

describe("prefill chunking", () => {
  it("prefills a prompt in one forward when nothing decodes, in chunks between a running stream's steps", async () => {
    const steps: EngineStep[] = [];
    const engine = await tinyEngine({
      prefillChunkTokens: 16,
      maxStepTokens: 128,
      prefixCacheBytes: 0,
      observer: { onStep: (step) => steps.push(step) },
    });
    try {
      await collect(engine.submit(request("alone", promptOf(100, 20), 2)));
      expect(steps[0]).toMatchObject({ prefillTokens: 100, decodeTokens: 0, requestIds: ["alone"] });
      expect(steps[0].tokens.map((t) => t.requestId)).toEqual(["alone"]);

      steps.length = 0;
      let long: Promise<unknown> = Promise.resolve();
      await collect(engine.submit(request("running", promptOf(8, 21), 30)), (e) => {
        if (e.index === 2) long = collect(engine.submit(request("long", promptOf(100, 22), 2)));
      });
      await long;
      const longPrefill = steps.filter((s) => s.prefillTokens > 0 && s.requestIds.includes("long"));
      expect(longPrefill.map((s) => s.prefillTokens)).toEqual([16, 16, 16, 16, 16, 16, 4]);
      // The running stream got a token in every step of the long prompt's prefill: it never stalled.
      for (const step of longPrefill) expect(step.tokens.map((t) => t.requestId)).toContain("running");
    } finally {
      await engine.close();
    }
  });
});

describe("KV budget", () => {
  it("makes requests wait for room, then runs them all with unchanged tokens", async () => {
    const bytesPerToken = kvBytesPerToken(await readModelConfig(await tinyModelDir()));
    const prompt = (i: number) => promptOf(20, 10 + i);
    // Room for exactly one request of 20 + 30 tokens at a time.
    const engine = await tinyEngine({ kvCacheBytes: 50 * bytesPerToken });
    try {
      const alone = [];
      for (let i = 0; i < 3; i++)
        alone.push((await collect(engine.submit(request(`alone-${i}`, prompt(i), 30)))).tokens);
      expect(engine.hasRoomFor(20, 30)).toBe(true);
      const runs = [0, 1, 2].map((i) => collect(engine.submit(request(`r${i}`, prompt(i), 30))));
      await new Promise((resolve) => setTimeout(resolve, 0));
      // What a cluster worker asks before taking a job: no KV room now, whatever the free slots.
      expect(engine.hasRoomFor(20, 30)).toBe(false);
      expect(engine.hasRoomFor(1, 1)).toBe(false); // the waiting requests' reservations count too
      expect(engine.hasRoomFor(20, 31)).toBe(true); // never fits: submit() refuses it rather than letting it wait
      const info = engine.info();
      expect(info.running + info.waiting).toBe(3);
      expect(info.running).toBeLessThanOrEqual(1);
      expect(info.kvBytesUsed).toBeLessThanOrEqual(info.kvBytesLimit);
      const results = await Promise.all(runs);
      expect(results.map((r) => r.tokens)).toEqual(alone);
      expect(results.map((r) => r.final.finishReason)).toEqual(["length", "length", "length"]);
      expect(engine.hasRoomFor(20, 30)).toBe(true);

      expect(() => engine.submit(request("too-big", prompt(9), 31))).toThrow(/whole KV budget/);
    } finally {
      await engine.close();
    }
  });
});

describe("execution providers", () => {
  it("falls back from a provider absent here to the next one, with why on the info line, not as a warning", async () => {
    const infos: string[] = [];
    const warnings: string[] = [];
    const engine = await tinyEngine({
      providers: ["cuda", "cpu"],
      log: ({ level, msg }) => (level === "warn" ? warnings : infos).push(msg),
    });
    try {
      expect(engine.info().provider).toBe("cpu");
      expect(engine.providerAttempts.map((a) => a.provider)).toEqual(["cuda", "cpu"]);
      expect(engine.providerAttempts[0].error).toBeTruthy();
      expect(warnings).toEqual([]); // no CUDA libraries on this machine: expected, not a fault
      expect(infos).toHaveLength(2); // the provider line, then the model's KV layout and dtype
      expect(infos[1]).toMatch(/KV cache layout, float32 cache/);
      expect(infos[0]).toMatch(/runs on execution provider "cpu"; not available on this machine: "cuda" \(\S+/);
    } finally {
      await engine.close();
    }
  });

  it("warns with the reason when a provider fails for any other reason", async () => {
    const dir = await mkdtemp(join(tmpdir(), "engine-session-"));
    const broken = join(dir, "model.onnx");
    await writeFile(broken, "not an onnx model");
    const warnings: string[] = [];
    try {
      const loading = createSession(broken, {
        providers: ["cpu"],
        log: ({ level, msg }) => level === "warn" && warnings.push(msg),
      });
      await expect(loading).rejects.toThrow(/no execution provider could run .*model\.onnx \(cpu: \S+/);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/"cpu" failed to start, trying the next one: \S+/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
