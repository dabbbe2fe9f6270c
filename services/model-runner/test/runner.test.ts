// The model runner as a real process (in-process sampler) on the tiny model, checked against the engine
// run in this process.
import type { Engine } from "@llm/engine";
import { FinishReason, ModelRunnerService, timestampFromMs } from "@llm/proto";
import { createClient, type ServiceClient } from "@llm/rpc";
import type { SamplingParams } from "@llm/sampling";
import { type RunningService, startService } from "@llm/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  collect,
  eventually,
  expectFailure,
  GREEDY,
  promptOf,
  RUNNER,
  referenceEngine,
  referenceIds,
  tinyModelDir,
} from "./helpers.js";

const MAX_BATCH = 4;
const LONG = 1000; // tokens: only a cancel or a deadline ends such a stream within a test

let runner: RunningService;
let client: ServiceClient<typeof ModelRunnerService>;
let reference: Engine<SamplingParams>;

beforeAll(async () => {
  const [started, engine] = await Promise.all([
    startService(RUNNER, {
      name: "model-runner",
      env: { LLM_MODEL_DIR: await tinyModelDir(), LLM_MODEL_ID: "tiny", LLM_MAX_BATCH_SIZE: String(MAX_BATCH) },
      timeoutMs: 60_000,
    }),
    referenceEngine(),
  ]);
  runner = started;
  reference = engine;
  client = createClient(ModelRunnerService, runner.address);
});

afterAll(async () => {
  client?.close();
  await reference?.close();
  expect((await runner?.stop())?.code).toBe(0);
});

const generate = (id: string, promptTokenIds: number[], maxTokens: number, sampling = GREEDY) =>
  client.generate({ requestId: id, model: "tiny", promptTokenIds, maxTokens, sampling, ignoreEos: true });

const running = async () => (await client.info({})).running;

describe("model runner (real process, in-process sampler)", () => {
  it("logs the execution provider it runs on; the GPU providers absent here are information, not warnings", () => {
    expect(runner.stderr()).toMatch(/"msg":"model-runner ready".*"provider":"cpu"/);
    // The default LLM_EXECUTION_PROVIDERS (cuda, webgpu, cpu) on this CPU-only machine: why each was skipped.
    expect(runner.stderr()).toMatch(
      /"level":"info".*runs on execution provider \\"cpu\\"; not available on this machine: \\"cuda\\" \(\S+/,
    );
    expect(runner.stderr()).not.toMatch(/"level":"warn"/);
  });

  it("streams tokens with increasing indices, then one final with the usage", async () => {
    const { tokens, final } = await collect(generate("stream", promptOf(12, 1), 8));
    expect(tokens.map((t) => t.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(tokens.every((t) => (t.timing?.stepMs ?? 0) > 0)).toBe(true);
    expect(final.finishReason).toBe(FinishReason.LENGTH);
    expect(final.usage).toMatchObject({ promptTokens: 12, completionTokens: 8, cachedPromptTokens: 0 });
  });

  it("gives the same greedy tokens as the engine run in-process", async () => {
    for (const [length, salt] of [
      [3, 2],
      [20, 3],
      [70, 4],
    ]) {
      const prompt = promptOf(length, salt);
      const { ids } = await collect(generate(`greedy-${salt}`, prompt, 24));
      expect(ids).toEqual(await referenceIds(reference, prompt, 24, { temperature: 0 }));
    }
  });

  it("reports its capacity in Info and frees a slot when the client cancels mid-stream", async () => {
    const info = await client.info({ model: "tiny" });
    expect(info).toMatchObject({ model: "tiny", contextLength: 1024, blockSize: 16, vocabSize: 50_257 });
    expect(info).toMatchObject({ executionProvider: "cpu", maxBatchSize: MAX_BATCH, running: 0, waiting: 0 });
    expect(info.kvBytesLimit).toBeGreaterThan(0n);
    await expectFailure(client.info({ model: "gpt-9" }), "not_found", /this runner serves "tiny"/);

    const controller = new AbortController();
    const stream = client.generate(
      {
        requestId: "cancel-me",
        model: "tiny",
        promptTokenIds: promptOf(8, 5),
        maxTokens: LONG,
        sampling: GREEDY,
        ignoreEos: true,
      },
      { signal: controller.signal },
    );
    let seen = 0;
    await expectFailure(
      (async () => {
        for await (const _ of stream) {
          if (++seen === 2) {
            const busy = await client.info({});
            expect(busy.running).toBe(1);
            expect(busy.kvBytesUsed).toBeGreaterThan(0n);
            controller.abort();
          }
        }
      })(),
      "cancelled",
      /cancel/i,
    );
    await eventually(async () => (await running()) === 0);
    expect((await client.info({})).kvBytesUsed).toBe(0n);
  });

  it("Cancel ends a request with FINISH_REASON_CANCELLED, and is NOT_FOUND for an unknown id", async () => {
    await expectFailure(
      client.cancel({ requestId: "nobody" }),
      "not_found",
      /no running or waiting request has id "nobody"/,
    );
    const run = collect(generate("cancel-by-id", promptOf(8, 6), LONG), (token) => {
      if (token.index === 2) void client.cancel({ requestId: "cancel-by-id" });
    });
    const { final, tokens } = await run;
    expect(final.finishReason).toBe(FinishReason.CANCELLED);
    expect(final.usage?.completionTokens).toBe(tokens.length);
    expect(tokens.length).toBeLessThan(LONG);
    expect(await running()).toBe(0);
  });

  it("answers every bad input with its status while a concurrent request finishes unharmed", async () => {
    const prompt = promptOf(16, 7);
    const expected = await referenceIds(reference, prompt, 48, { temperature: 0 });
    const bystander = collect(generate("bystander", prompt, 48));
    const bad = (id: string, fields: object) =>
      collect(client.generate({ requestId: id, model: "tiny", promptTokenIds: [1, 2, 3], maxTokens: 4, ...fields }));
    await Promise.all([
      expectFailure(bad("m", { model: "gpt-9" }), "not_found", /unknown model "gpt-9": this runner serves "tiny"/),
      expectFailure(
        bad("t", { sampling: { temperature: 3 } }),
        "invalid_argument",
        /temperature must be a number in \[0, 2\], got 3/,
      ),
      expectFailure(bad("p", { sampling: { topP: 0 } }), "invalid_argument", /topP must be a number in \(0, 1\]/),
      expectFailure(bad("k", { sampling: { topK: -1 } }), "invalid_argument", /topK must be an integer >= 0/),
      expectFailure(
        bad("s", { sampling: { strategy: "nope" } }),
        "invalid_argument",
        /"nope" is unknown; known strategies: greedy, standard/,
      ),
      expectFailure(
        bad("l", { sampling: { topLogprobs: 21 } }),
        "invalid_argument",
        /topLogprobs must be an integer in \[0, 20\]/,
      ),
      expectFailure(
        bad("c", { promptTokenIds: promptOf(1000, 8), maxTokens: 100 }),
        "invalid_argument",
        /prompt \(1000 tokens\) \+ max_tokens \(100\) exceeds the model's context of 1024 tokens/,
      ),
      expectFailure(bad("e", { promptTokenIds: [] }), "invalid_argument", /the prompt has no tokens/),
      expectFailure(
        bad("v", { promptTokenIds: [1, 50_257] }),
        "invalid_argument",
        /\(50257\) is not an id in this model's vocabulary/,
      ),
      expectFailure(bad("z", { maxTokens: 0 }), "invalid_argument", /max_tokens must be an integer >= 1/),
      expectFailure(bad("", {}), "invalid_argument", /request_id is empty/),
      expectFailure(bad("bystander", {}), "invalid_argument", /already running/),
    ]);
    const { ids, final } = await bystander;
    expect(ids).toEqual(expected);
    expect(final.finishReason).toBe(FinishReason.LENGTH);
    expect(await running()).toBe(0);
  });

  it("a gRPC deadline ends the call with DEADLINE_EXCEEDED and frees the slot", async () => {
    const stream = client.generate(
      {
        requestId: "late",
        model: "tiny",
        promptTokenIds: promptOf(8, 9),
        maxTokens: LONG,
        sampling: GREEDY,
        ignoreEos: true,
      },
      { deadline: Date.now() + 150 },
    );
    await expectFailure(collect(stream), "deadline_exceeded", /deadline/i);
    await eventually(async () => (await running()) === 0);
  });

  it("a deadline in the message cancels the request at that time (FINISH_REASON_CANCELLED)", async () => {
    const { final, tokens } = await collect(
      client.generate({
        requestId: "queued-deadline",
        model: "tiny",
        promptTokenIds: promptOf(8, 10),
        maxTokens: LONG,
        sampling: GREEDY,
        ignoreEos: true,
        deadline: timestampFromMs(Date.now() + 100),
      }),
    );
    expect(final.finishReason).toBe(FinishReason.CANCELLED);
    expect(tokens.length).toBeLessThan(LONG);
  });

  it("reports a prefix-cache hit in the final usage and on the first token for a repeated long prompt, with the same tokens", async () => {
    const prompt = promptOf(80, 11);
    const before = (await client.info({})).prefixCache?.hits ?? 0n;
    const miss = await collect(generate("prefix-1", prompt, 12));
    const hit = await collect(generate("prefix-2", prompt, 12));
    expect(miss.final.usage?.cachedPromptTokens).toBe(0);
    expect(hit.final.usage?.cachedPromptTokens).toBe(64); // whole 16-token blocks, the last prompt token recomputed
    // Also on the first token, for a caller that stops reading before the final (a stop sequence); later ones 0.
    expect(hit.tokens.map((t) => t.cachedPromptTokens)).toEqual(hit.tokens.map((_, i) => (i === 0 ? 64 : 0)));
    expect(hit.ids).toEqual(miss.ids);
    expect((await client.info({})).prefixCache?.hits).toBeGreaterThan(before);
  });
});
