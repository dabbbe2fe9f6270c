// The gateway with real tokenizer, model-runner and detokenizer processes, all on the bundled tiny model.
import { credentials, Client as GrpcClient, type ServiceError, status } from "@grpc/grpc-js";
import type { LlmError } from "@llm/errors";
import { ensureModel } from "@llm/model-pack";
import {
  FinishReason,
  type GenerateFinal,
  type GenerateRequestSchema,
  type GenerateResponse,
  GenerationService,
  type MessageInitShape,
  ModelRunnerService,
  type TokenLogprobs,
} from "@llm/proto";
import { type CallOptions, createClient, type ServiceClient } from "@llm/rpc";
import { llmFailure, type RunningService, ServiceGroup } from "@llm/testing";
import { Tokenizer } from "@llm/tokenizer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

type Request = MessageInitShape<typeof GenerateRequestSchema>;

const MAX_INFLIGHT = 4;
const MAX_INPUT_BYTES = 4096;
const LONG = 1000; // tokens: far longer than any test waits, so only a cancel can end such a stream early

const GATEWAY = "services/gateway/src/main.ts";
const services = new ServiceGroup();
let gatewayEnv: Record<string, string>;
let gateway: RunningService;
let client: ServiceClient<typeof GenerationService>;
let runner: ServiceClient<typeof ModelRunnerService>;
let tokenizer: Tokenizer;

beforeAll(async () => {
  const model = await ensureModel("tiny");
  tokenizer = await Tokenizer.fromFile(model.dir);
  const modelEnv = { LLM_MODEL_DIR: model.dir, LLM_MODEL_ID: "tiny" };
  const [tokenizerService, runnerService, detokenizerService] = await services.start([
    ["services/tokenizer/src/main.ts", { name: "tokenizer", env: modelEnv }],
    ["services/model-runner/src/main.ts", { name: "model-runner", env: modelEnv, timeoutMs: 60_000 }],
    ["services/detokenizer/src/main.ts", { name: "detokenizer", env: modelEnv }],
  ]);
  gatewayEnv = {
    LLM_TOKENIZER_URL: tokenizerService.address,
    LLM_RUNNER_URL: runnerService.address,
    LLM_DETOKENIZER_URL: detokenizerService.address,
    LLM_MAX_INFLIGHT: String(MAX_INFLIGHT),
    LLM_MAX_INPUT_BYTES: String(MAX_INPUT_BYTES),
  };
  [gateway] = await services.start([[GATEWAY, { name: "gateway", env: gatewayEnv }]]);
  client = createClient(GenerationService, gateway.address);
  runner = createClient(ModelRunnerService, runnerService.address);
}, 90_000);

afterAll(async () => {
  client?.close();
  runner?.close();
  // Gateway first, so no request reaches a stopped upstream; each exits 0 after draining.
  const exits = await services.stopAll();
  expect(exits.map((e) => e.code)).toEqual(exits.map(() => 0));
});

interface Streamed {
  text: string;
  deltas: string[];
  tokenIds: number[];
  logprobs: TokenLogprobs[];
  final: GenerateFinal | undefined;
}

/** Runs Generate to its end; `onDelta` may act mid-stream (cancel, abort). */
async function stream(
  request: Request,
  options: CallOptions = {},
  onDelta: (received: Streamed) => void | Promise<void> = () => {},
): Promise<Streamed> {
  const out: Streamed = { text: "", deltas: [], tokenIds: [], logprobs: [], final: undefined };
  for await (const { event } of client.generate(request, options) as AsyncIterable<GenerateResponse>) {
    expect(out.final).toBeUndefined(); // nothing after the final message
    if (event.case === "delta") {
      out.deltas.push(event.value.text);
      out.text += event.value.text;
      out.tokenIds.push(...event.value.tokenIds);
      out.logprobs.push(...event.value.logprobs);
      await onDelta(out);
    } else if (event.case === "final") {
      out.final = event.value;
    }
  }
  expect(out.final).toBeDefined();
  return out;
}

async function runningOnRunner(): Promise<number> {
  const info = await runner.info({});
  return info.running + info.waiting;
}

const decode = (ids: number[]) => tokenizer.decode(ids, { skipSpecialTokens: true });
const seeded = (seed: number, extra: { logprobs?: boolean; topLogprobs?: number } = {}) => ({
  temperature: 0.9,
  topP: 0.95,
  seed: BigInt(seed),
  ...extra,
});

describe("gateway", () => {
  it("lists the runner's model", async () => {
    const { models } = await client.listModels({});
    expect(models.map(({ id, contextLength }) => ({ id, contextLength }))).toEqual([
      { id: "tiny", contextLength: 1024 },
    ]);
  });

  it("streams text equal to the tokenizer's decode of the token ids it reports, then usage", async () => {
    const prompt = "Once upon a time";
    const out = await stream({
      model: "tiny",
      prompt: { case: "text", value: prompt },
      maxTokens: 24,
      includeTokenIds: true,
      sampling: { temperature: 0 },
    });
    expect(out.tokenIds.length).toBeGreaterThan(0);
    expect(out.text).toBe(decode(out.tokenIds));
    const final = out.final as GenerateFinal;
    expect([FinishReason.LENGTH, FinishReason.EOS]).toContain(final.finishReason);
    if (final.finishReason === FinishReason.LENGTH) expect(out.tokenIds).toHaveLength(24);
    expect(final.usage).toMatchObject({
      promptTokens: tokenizer.encode(prompt).length,
      completionTokens: out.tokenIds.length,
    });
    expect(final.requestId).toMatch(/^[0-9a-f-]{36}$/); // generated when the client gives none
  });

  it("answers GenerateUnary with exactly the streamed concatenation", async () => {
    const request: Request = {
      prompt: { case: "text", value: "The weather today" },
      maxTokens: 32,
      includeTokenIds: true,
      sampling: seeded(11, { logprobs: true, topLogprobs: 2 }),
      requestId: "unary-vs-stream",
    };
    const streamed = await stream(request);
    const whole = await client.generateUnary({ request });
    expect(whole.text).toBe(streamed.text);
    expect(whole.tokenIds).toEqual(streamed.tokenIds);
    expect(whole.finishReason).toBe(streamed.final?.finishReason);
    expect(whole.usage).toEqual(streamed.final?.usage);
    expect(whole.requestId).toBe("unary-vs-stream");
    expect(whole.logprobs.map((l) => l.tokenId)).toEqual(whole.tokenIds);
    for (const entry of whole.logprobs) {
      expect(entry.logprob).toBeLessThanOrEqual(0);
      expect(entry.topLogprobs).toHaveLength(2);
    }
  });

  it("reproduces seeded sampling; without a seed the gateway picks a fresh one", async () => {
    const request = (sampling: Request["sampling"]): Request => ({
      prompt: { case: "text", value: "In a hole in the ground" },
      maxTokens: 24,
      includeTokenIds: true,
      sampling,
    });
    const [a, b] = await Promise.all([stream(request(seeded(7))), stream(request(seeded(7)))]);
    expect(a.tokenIds).toEqual(b.tokenIds);
    expect(a.text).toBe(b.text);
    const other = await stream(request(seeded(8)));
    expect(other.tokenIds).not.toEqual(a.tokenIds);
    const [u1, u2] = await Promise.all([stream(request({ temperature: 1 })), stream(request({ temperature: 1 }))]);
    expect(u1.tokenIds).not.toEqual(u2.tokenIds);
  });

  it("ends at a stop sequence split across tokens: reason stop, the match reported, no text after it", async () => {
    const base: Request = {
      prompt: { case: "text", value: "It was a bright cold day in April" },
      maxTokens: 40,
      includeTokenIds: true,
      sampling: { temperature: 0 },
    };
    const full = await stream(base);
    // A 3-character stop from the middle of the greedy output that no single token contains.
    const pieces = full.tokenIds.map((id) => decode([id]));
    const stop = [...Array(full.text.length - 3).keys()]
      .map((at) => full.text.slice(at, at + 3))
      .find((s, at) => at > 8 && !s.includes("\uFFFD") && !pieces.some((p) => p.includes(s)));
    expect(stop, `no usable stop in ${JSON.stringify(full.text)}`).toBeDefined();
    const stopped = await stream({ ...base, stop: ["never-produced", stop as string] });
    expect(stopped.final).toMatchObject({ finishReason: FinishReason.STOP, matchedStop: stop });
    expect(stopped.text).toBe(full.text.slice(0, full.text.indexOf(stop as string)));
    expect(stopped.tokenIds).toEqual(full.tokenIds.slice(0, stopped.tokenIds.length));
    expect(stopped.final?.usage?.completionTokens).toBe(stopped.tokenIds.length);
    await expect.poll(runningOnRunner, { timeout: 400, interval: 20 }).toBe(0); // the runner's call was cancelled
  });

  it("reports a repeated prompt's cached tokens even when a stop sequence ends it before the runner's final", async () => {
    const base: Request = {
      prompt: {
        case: "text",
        value: "Call me Ishmael. Some years ago, never mind how long precisely, having little money",
      },
      maxTokens: 24,
      sampling: { temperature: 0 },
    };
    const first = await stream(base); // fills the prefix cache with the prompt's full blocks
    expect(first.final?.usage?.cachedPromptTokens).toBe(0);
    const promptTokens = first.final?.usage?.promptTokens ?? 0;
    const cached = Math.floor((promptTokens - 1) / 16) * 16; // whole blocks; the last prompt token is recomputed
    expect(cached).toBeGreaterThan(0);
    const stop = first.text.slice(2, 4);
    expect(stop.includes("\uFFFD")).toBe(false);
    const stopped = await stream({ ...base, stop: [stop] });
    expect(stopped.final).toMatchObject({ finishReason: FinishReason.STOP, matchedStop: stop });
    expect(stopped.final?.usage).toMatchObject({ promptTokens, cachedPromptTokens: cached });
  });

  it("renders chat prompts with the model's template", async () => {
    const messages = [
      { role: "system", content: "Be brief." },
      { role: "user", content: "Hi! 👋" },
    ];
    const whole = await client.generateUnary({
      request: { prompt: { case: "chat", value: { messages } }, maxTokens: 8, sampling: { temperature: 0 } },
    });
    const rendered = tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true });
    expect(whole.usage?.promptTokens).toBe(tokenizer.encode(rendered, { allowSpecial: true }).length);
    expect(whole.usage?.completionTokens).toBeGreaterThan(0);
  });

  it("rejects every bad input with its status and an actionable message, unharming a concurrent request", async () => {
    const good: Request = {
      prompt: { case: "text", value: "A good request, running meanwhile" },
      maxTokens: 48,
      includeTokenIds: true,
      sampling: seeded(99),
    };
    const alone = await stream(good);
    const concurrent = stream(good);

    const text = (value: string): Request["prompt"] => ({ case: "text", value });
    const bad: [string, Request, LlmError["code"], RegExp][] = [
      ["empty prompt", { prompt: text(""), maxTokens: 4 }, "invalid_argument", /prompt\.text is empty/],
      ["no prompt", { maxTokens: 4 }, "invalid_argument", /prompt is missing/],
      [
        "oversized prompt",
        { prompt: text("x".repeat(MAX_INPUT_BYTES + 1)), maxTokens: 4 },
        "invalid_argument",
        /4097 bytes of UTF-8; at most 4096/,
      ],
      [
        "empty chat",
        { prompt: { case: "chat", value: { messages: [] } }, maxTokens: 4 },
        "invalid_argument",
        /prompt\.chat\.messages is empty/,
      ],
      ["max_tokens 0", { prompt: text("hi"), maxTokens: 0 }, "invalid_argument", /max_tokens must be from 1/],
      [
        "over the context",
        { prompt: text("one two three four"), maxTokens: 1022 },
        "invalid_argument",
        /4 tokens and max_tokens is 1022.*context of 1024 tokens; lower max_tokens to at most 1020/,
      ],
      [
        "temperature",
        { prompt: text("hi"), maxTokens: 4, sampling: { temperature: 2.5 } },
        "invalid_argument",
        /temperature must be a number in \[0, 2\], got 2.5/,
      ],
      [
        "top_p 0",
        { prompt: text("hi"), maxTokens: 4, sampling: { topP: 0 } },
        "invalid_argument",
        /topP must be a number in \(0, 1\]/,
      ],
      [
        "top_p > 1",
        { prompt: text("hi"), maxTokens: 4, sampling: { topP: 1.5 } },
        "invalid_argument",
        /topP must be a number in \(0, 1\], got 1.5/,
      ],
      [
        "top_k < 0",
        { prompt: text("hi"), maxTokens: 4, sampling: { topK: -1 } },
        "invalid_argument",
        /topK must be an integer >= 0/,
      ],
      [
        "unknown model",
        { model: "gpt-9", prompt: text("hi"), maxTokens: 4 },
        "not_found",
        /unknown model "gpt-9".*"tiny"/,
      ],
      [
        "unknown strategy",
        { prompt: text("hi"), maxTokens: 4, sampling: { strategy: "no-such-strategy" } },
        "invalid_argument",
        /no-such-strategy/,
      ],
      [
        "too many stops",
        { prompt: text("hi"), maxTokens: 4, stop: Array.from({ length: 9 }, (_, i) => `s${i}`) },
        "invalid_argument",
        /stop has 9 sequences; at most 8/,
      ],
      [
        "empty stop",
        { prompt: text("hi"), maxTokens: 4, stop: ["ok", ""] },
        "invalid_argument",
        /stop sequence 1 is empty/,
      ],
    ];
    for (const [name, request, code, message] of bad) {
      const err = await llmFailure(stream(request));
      expect({ name, code: err.code }).toEqual({ name, code });
      expect(err.message, name).toMatch(message);
      const unary = await llmFailure(client.generateUnary({ request }));
      expect({ name, code: unary.code }).toEqual({ name, code });
    }
    expect(await rawGenerateStatus(invalidUtf8Prompt())).toEqual({
      code: status.INVALID_ARGUMENT,
      details: "request is not a valid llm.v1.GenerateRequest: prompt.text is not valid UTF-8 text",
    });

    const meanwhile = await concurrent;
    expect(meanwhile.tokenIds).toEqual(alone.tokenIds);
    expect(meanwhile.text).toBe(alone.text);
    expect((await client.listModels({})).models).toHaveLength(1); // still up
  });

  it("frees the runner's slot at once when the client cancels mid-stream", async () => {
    const controller = new AbortController();
    let busy = 0;
    const cancelled = stream(
      { prompt: { case: "text", value: "Tell me a very long story" }, maxTokens: LONG, includeTokenIds: true },
      { signal: controller.signal },
      async (received) => {
        if (received.tokenIds.length === 3) {
          busy = await runningOnRunner();
          controller.abort();
        }
      },
    );
    expect((await llmFailure(cancelled)).code).toBe("cancelled");
    expect(busy).toBe(1);
    // The rest of a LONG stream takes well over a second here: only the cancel can free the slot this soon.
    await expect.poll(runningOnRunner, { timeout: 400, interval: 20 }).toBe(0);
  });

  it("ends a request past its deadline with DEADLINE_EXCEEDED and frees the slot", async () => {
    const request: Request = { prompt: { case: "text", value: "Slowly" }, maxTokens: LONG };
    const late = await llmFailure(stream(request, { deadline: Date.now() + 300 }));
    expect(late.code).toBe("deadline_exceeded");
    await expect.poll(runningOnRunner, { timeout: 400, interval: 20 }).toBe(0);
    const lateUnary = await llmFailure(client.generateUnary({ request }, { deadline: Date.now() + 300 }));
    expect(lateUnary.code).toBe("deadline_exceeded");
    await expect.poll(runningOnRunner, { timeout: 400, interval: 20 }).toBe(0);
  });

  it("cancels by request id: the stream ends with reason cancelled; unknown and duplicate ids are told apart", async () => {
    const requestId = "cancel-me";
    let found: boolean | undefined;
    let duplicate: LlmError | undefined;
    const out = await stream(
      { prompt: { case: "text", value: "Count to a thousand" }, maxTokens: LONG, requestId, includeTokenIds: true },
      {},
      async (received) => {
        if (received.tokenIds.length !== 2) return;
        duplicate = await llmFailure(stream({ prompt: { case: "text", value: "again" }, maxTokens: 4, requestId }));
        found = (await client.cancel({ requestId })).found;
      },
    );
    expect(found).toBe(true);
    expect(duplicate?.code).toBe("invalid_argument");
    expect(duplicate?.message).toMatch(/"cancel-me" is already in flight/);
    expect(out.final).toMatchObject({ finishReason: FinishReason.CANCELLED, requestId });
    expect(out.tokenIds.length).toBeLessThan(LONG);
    expect(out.final?.usage?.completionTokens).toBe(out.tokenIds.length);
    await expect.poll(runningOnRunner, { timeout: 400, interval: 20 }).toBe(0);
    expect((await client.cancel({ requestId })).found).toBe(false);
    expect((await llmFailure(client.cancel({ requestId: "" }))).code).toBe("invalid_argument");
  });

  it("turns requests past LLM_MAX_INFLIGHT away with RESOURCE_EXHAUSTED and a retry hint", async () => {
    const controller = new AbortController();
    const started: Promise<void>[] = [];
    const holders = Array.from({ length: MAX_INFLIGHT }, (_, i) => {
      let onFirst: () => void = () => {};
      started.push(new Promise((resolve) => (onFirst = resolve)));
      return stream(
        { prompt: { case: "text", value: `holder ${i}` }, maxTokens: LONG, includeTokenIds: true },
        { signal: controller.signal },
        () => onFirst(),
      ).catch((e: unknown) => e);
    });
    await Promise.all(started);
    const refused = await llmFailure(stream({ prompt: { case: "text", value: "one more" }, maxTokens: 4 }));
    expect(refused.code).toBe("resource_exhausted");
    expect(refused.message).toMatch(/maximum of 4 requests \(LLM_MAX_INFLIGHT\)/);
    expect(refused.retryAfterMs).toBeGreaterThan(0);
    controller.abort();
    await Promise.all(holders);
    // Slots come back once the holders are gone.
    await expect
      .poll(
        async () =>
          (await client.generateUnary({ request: { prompt: { case: "text", value: "after" }, maxTokens: 2 } })).usage
            ?.completionTokens,
        { timeout: 2000 },
      )
      .toBe(2);
  });
  it("drains an in-flight stream on SIGTERM, refuses new requests meanwhile, and exits 0", async () => {
    const [draining] = await services.start([[GATEWAY, { name: "gateway (drain)", env: gatewayEnv }]]);
    const other = createClient(GenerationService, draining.address);
    try {
      let exited: Promise<{ code: number | null }> | undefined;
      let refused: LlmError | undefined;
      const out: Streamed = { text: "", deltas: [], tokenIds: [], logprobs: [], final: undefined };
      const request: Request = {
        prompt: { case: "text", value: "Before the end" },
        maxTokens: 200,
        includeTokenIds: true,
      };
      for await (const { event } of other.generate(request)) {
        if (event.case === "final") out.final = event.value;
        if (event.case !== "delta") continue;
        out.tokenIds.push(...event.value.tokenIds);
        if (exited === undefined) {
          exited = draining.stop(20_000);
          await expect.poll(() => draining.stderr()).toContain('"shutting down"');
          refused = await llmFailure(other.generateUnary({ request: { ...request, maxTokens: 2 } }));
        }
      }
      expect(out.final).toMatchObject({ finishReason: FinishReason.LENGTH });
      expect(out.tokenIds).toHaveLength(200);
      expect(refused?.code).toBe("unavailable");
      expect((await exited)?.code).toBe(0);
    } finally {
      other.close();
    }
  });
});

/** A GenerateRequest whose prompt text is not UTF-8, as raw protobuf bytes (no typed client can send it). */
function invalidUtf8Prompt(): Buffer {
  const text = Buffer.from([0x48, 0x69, 0xc3, 0x28]); // "Hi" then a broken 2-byte sequence
  return Buffer.concat([Buffer.from([0x12, text.length]), text, Buffer.from([0x20, 4])]); // text = 2, max_tokens = 4
}

async function rawGenerateStatus(body: Buffer): Promise<{ code: number; details: string }> {
  const raw = new GrpcClient(gateway.address, credentials.createInsecure());
  try {
    const call = raw.makeServerStreamRequest(
      "/llm.v1.GenerationService/Generate",
      (b: Buffer) => b,
      (b: Buffer) => b,
      body,
    );
    call.on("data", () => {});
    return await new Promise((resolve) =>
      call.on("error", (err: ServiceError) => resolve({ code: err.code, details: err.details })),
    );
  } finally {
    raw.close();
  }
}
