// The gateway's OpenAI-compatible HTTP API, driven by the official `openai` client and by plain fetch, with real
// tokenizer, model-runner and detokenizer processes on the bundled tiny model.
import { createHash } from "node:crypto";
import { Metadata } from "@grpc/grpc-js";
import { LlmError } from "@llm/errors";
import { ensureModel } from "@llm/model-pack";
import { GenerationService, ModelRunnerService } from "@llm/proto";
import { createClient, type ServiceClient } from "@llm/rpc";
import { ServiceGroup } from "@llm/testing";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const GATEWAY = "services/gateway/src/main.ts";
const LONG = 1000; // tokens: far longer than any test waits, so only a cancel can end such a stream early
const PLAIN_KEY = "sk-test-plain";
const HASHED_KEY = "sk-test-hashed"; // configured only as its sha256 digest
const PROMPT = "It was a bright cold day in April";

const services = new ServiceGroup();
let open: { url: string; grpc: string }; // keys off (local mode)
let secured: { url: string; grpc: string }; // LLM_API_KEYS set, one request per key at a time
let broken: { url: string }; // upstreams that do not answer
let runner: ServiceClient<typeof ModelRunnerService>;
let openai: OpenAI;

beforeAll(async () => {
  const model = await ensureModel("tiny");
  const modelEnv = { LLM_MODEL_DIR: model.dir, LLM_MODEL_ID: "tiny" };
  const [tokenizerService, runnerService, detokenizerService] = await services.start([
    ["services/tokenizer/src/main.ts", { name: "tokenizer", env: modelEnv }],
    ["services/model-runner/src/main.ts", { name: "model-runner", env: modelEnv, timeoutMs: 60_000 }],
    ["services/detokenizer/src/main.ts", { name: "detokenizer", env: modelEnv }],
  ]);
  const upstreams = {
    LLM_TOKENIZER_URL: tokenizerService.address,
    LLM_RUNNER_URL: runnerService.address,
    LLM_DETOKENIZER_URL: detokenizerService.address,
  };
  const digest = createHash("sha256").update(HASHED_KEY).digest("hex");
  const gateways = await services.start([
    [GATEWAY, { name: "gateway", env: upstreams }],
    [
      GATEWAY,
      {
        name: "gateway-secured",
        env: { ...upstreams, LLM_API_KEYS: `${PLAIN_KEY}, sha256:${digest}`, LLM_API_KEY_MAX_CONCURRENT: "1" },
      },
    ],
    [
      GATEWAY,
      {
        name: "gateway-broken",
        env: { LLM_TOKENIZER_URL: "127.0.0.1:1", LLM_RUNNER_URL: "127.0.0.1:1", LLM_DETOKENIZER_URL: "127.0.0.1:1" },
      },
    ],
  ]);
  const [openGateway, securedGateway, brokenGateway] = await Promise.all(
    gateways.map(async (g) => ({ url: await g.listening("gateway-http"), grpc: g.address })),
  );
  [open, secured, broken] = [openGateway, securedGateway, brokenGateway] as [typeof open, typeof open, typeof open];
  runner = createClient(ModelRunnerService, runnerService.address);
  openai = client(open.url, "unused-in-local-mode");
}, 90_000);

afterAll(async () => {
  runner?.close();
  const exits = await services.stopAll();
  expect(exits.map((e) => e.code)).toEqual(exits.map(() => 0));
});

/** The official client; no retries, so every status reaches the test as it was sent. */
function client(url: string, apiKey: string): OpenAI {
  return new OpenAI({ baseURL: `${url}/v1`, apiKey, maxRetries: 0 });
}

async function runningOnRunner(): Promise<number> {
  const info = await runner.info({});
  return info.running + info.waiting;
}

async function post(url: string, body: string | object, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** The `data:` payloads of an SSE body, checking the framing: only `data:` lines, each event ends with a blank line. */
function sseEvents(body: string): string[] {
  expect(body.endsWith("\n\n")).toBe(true);
  const events = body.slice(0, -2).split("\n\n");
  for (const event of events) expect(event).toMatch(/^data: [^\n]+$/);
  return events.map((event) => event.slice("data: ".length));
}

async function grpcText(
  grpc: string,
  request: Parameters<ServiceClient<typeof GenerationService>["generateUnary"]>[0],
) {
  const gateway = createClient(GenerationService, grpc);
  try {
    return await gateway.generateUnary(request);
  } finally {
    gateway.close();
  }
}

describe("OpenAI-compatible HTTP API", () => {
  it("completes with the official client: seeded text equals the gRPC API's, usage and logprobs as OpenAI's", async () => {
    const params = { model: "tiny", prompt: PROMPT, max_tokens: 12, temperature: 0.9, top_p: 0.95, seed: 42 };
    const completion = await openai.completions.create({ ...params, logprobs: 3 });
    expect(completion).toMatchObject({ object: "text_completion", model: "tiny" });
    expect(completion.id).toMatch(/^cmpl-/);
    const [choice] = completion.choices;
    expect(choice?.finish_reason).toBe("length");
    expect(completion.usage).toMatchObject({ completion_tokens: 12 });
    expect(completion.usage?.total_tokens).toBe((completion.usage?.prompt_tokens ?? 0) + 12);
    const logprobs = choice?.logprobs;
    expect(logprobs?.tokens).toHaveLength(12);
    expect(logprobs?.token_logprobs?.every((lp) => lp <= 0)).toBe(true);
    expect(logprobs?.top_logprobs?.every((top) => Object.keys(top).length <= 3)).toBe(true);
    expect(logprobs?.text_offset?.[0]).toBe(0);

    const overGrpc = await grpcText(open.grpc, {
      request: {
        prompt: { case: "text", value: PROMPT },
        maxTokens: 12,
        sampling: { temperature: 0.9, topP: 0.95, seed: 42n },
      },
    });
    expect(choice?.text).toBe(overGrpc.text);
    expect(completion.usage?.prompt_tokens).toBe(overGrpc.usage?.promptTokens);

    // Streamed, the same seed gives the same text.
    const stream = await openai.completions.create({ ...params, stream: true });
    let streamed = "";
    for await (const chunk of stream) streamed += chunk.choices[0]?.text ?? "";
    expect(streamed).toBe(overGrpc.text);
  });

  it("stops at a stop string (or any of a list) like OpenAI: reason stop, no text from the match on", async () => {
    const base = { model: "tiny", prompt: PROMPT, max_tokens: 40, temperature: 0 };
    const full = (await openai.completions.create(base)).choices[0]?.text ?? "";
    const stop = full.slice(10, 13);
    expect(stop.includes("\uFFFD")).toBe(false);
    for (const asked of [stop, ["never-produced", stop]]) {
      const stopped = await openai.completions.create({ ...base, stop: asked });
      expect(stopped.choices[0]).toMatchObject({ finish_reason: "stop", text: full.slice(0, full.indexOf(stop)) });
    }
  });

  it("reports a repeated prompt's cached tokens in prompt_tokens_details, also when a stop string ends it", async () => {
    const base = {
      model: "tiny",
      prompt: `${PROMPT}, and the clocks were striking thirteen. Winston Smith slipped quickly through the doors.`,
      max_tokens: 16,
    };
    const first = await openai.completions.create({ ...base, temperature: 0 });
    const promptTokens = first.usage?.prompt_tokens ?? 0;
    const cached = Math.floor((promptTokens - 1) / 16) * 16; // whole blocks; the last prompt token is recomputed
    expect(cached).toBeGreaterThan(0);
    const text = first.choices[0]?.text ?? "";
    const stop = text.slice(2, 4);
    expect(stop.includes("\uFFFD")).toBe(false);
    const stopped = await openai.completions.create({ ...base, temperature: 0, stop });
    expect(stopped.choices[0]?.finish_reason).toBe("stop");
    expect(stopped.usage?.prompt_tokens_details?.cached_tokens).toBe(cached);
  });

  it("chats with the template, streamed or not, with seed, logprobs and top_logprobs", async () => {
    const messages = [
      { role: "system" as const, content: "Be brief." },
      { role: "user" as const, content: "Hi! 👋" },
    ];
    const params = { model: "tiny", messages, max_completion_tokens: 10, temperature: 0.8, seed: 7 };
    const chat = await openai.chat.completions.create({ ...params, logprobs: true, top_logprobs: 2 });
    expect(chat.object).toBe("chat.completion");
    expect(chat.id).toMatch(/^chatcmpl-/);
    const [choice] = chat.choices;
    expect(choice?.message.role).toBe("assistant");
    expect(choice?.logprobs?.content).toHaveLength(chat.usage?.completion_tokens ?? -1);
    for (const entry of choice?.logprobs?.content ?? []) {
      expect(entry.bytes).toEqual([...Buffer.from(entry.token)]);
      expect(entry.top_logprobs).toHaveLength(2);
    }

    const overGrpc = await grpcText(open.grpc, {
      request: {
        prompt: { case: "chat", value: { messages } },
        maxTokens: 10,
        sampling: { temperature: 0.8, seed: 7n },
      },
    });
    expect(choice?.message.content).toBe(overGrpc.text);
    expect(chat.usage?.prompt_tokens).toBe(overGrpc.usage?.promptTokens);

    const stream = await openai.chat.completions.create({
      ...params,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    const roles: string[] = [];
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      if (chunk.choices[0]?.delta.role) roles.push(chunk.choices[0].delta.role);
      usage ??= chunk.usage;
    }
    expect(text).toBe(overGrpc.text);
    expect(roles).toEqual(["assistant"]);
    expect(usage).toMatchObject({ completion_tokens: 10, prompt_tokens: overGrpc.usage?.promptTokens });
  });

  it("frames SSE as OpenAI does: data events, a finish chunk, a usage chunk, then [DONE]", async () => {
    const response = await post(`${open.url}/v1/chat/completions`, {
      model: "tiny",
      messages: [{ role: "user", content: [{ type: "text", text: "Hello" }] }],
      max_tokens: 5,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
      some_future_field: { nested: [1, 2] }, // unknown fields are ignored
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const events = sseEvents(await response.text());
    expect(events.at(-1)).toBe("[DONE]");
    const chunks = events.slice(0, -1).map((data) => JSON.parse(data));
    const ids = new Set(chunks.map((chunk) => chunk.id));
    expect(ids.size).toBe(1);
    expect(chunks[0].choices[0].delta).toEqual({ role: "assistant", content: "" });
    const usageChunk = chunks.at(-1);
    expect(usageChunk.choices).toEqual([]);
    expect(usageChunk.usage).toMatchObject({ completion_tokens: 5 });
    const finish = chunks.at(-2);
    expect(finish.choices[0]).toMatchObject({ delta: {}, finish_reason: "length" });
    for (const chunk of chunks.slice(0, -1)) {
      expect(chunk.object).toBe("chat.completion.chunk");
      expect(chunk.usage).toBeNull();
    }
  });

  it("lists models, answers health and readiness", async () => {
    const models = [];
    for await (const model of openai.models.list()) models.push(model);
    expect(models).toEqual([{ id: "tiny", object: "model", created: 0, owned_by: "llm-serving" }]);
    expect((await openai.models.retrieve("tiny")).id).toBe("tiny");
    expect((await fetch(`${open.url}/health`)).status).toBe(200);
    const ready = await fetch(`${open.url}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: "ready" });
  });
});

describe("HTTP errors in OpenAI's shape", () => {
  async function expectError(response: Response, status: number, message: RegExp, param?: string) {
    expect(response.status).toBe(status);
    const body = (await response.json()) as { error: { message: string; type: string; param: string | null } };
    expect(body.error.message).toMatch(message);
    expect(typeof body.error.type).toBe("string");
    if (param !== undefined) expect(body.error.param).toBe(param);
  }
  const completions = () => `${open.url}/v1/completions`;

  it("400 for malformed JSON, a wrong content type, unsupported n and out-of-range params", async () => {
    await expectError(await post(completions(), '{"prompt": "x",'), 400, /not valid JSON/);
    await expectError(
      await post(completions(), { prompt: "x" }, { "content-type": "text/plain" }),
      400,
      /Content-Type is "text\/plain".*application\/json/,
    );
    await expectError(await post(completions(), "[1, 2]"), 400, /must be a JSON object/);
    await expectError(await post(completions(), { prompt: "x", n: 2 }), 400, /one choice per request/, "n");
    await expectError(await post(completions(), { prompt: "x", temperature: 3 }), 400, /temperature/, "temperature");
    await expectError(await post(completions(), { prompt: "x", top_p: "high" }), 400, /top_p must be a number/);
    await expectError(await post(completions(), { prompt: ["a", "b"] }), 400, /batches are not supported/, "prompt");
    const err = await openai.completions.create({ model: "tiny", prompt: "x", max_tokens: 0 }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).message).toMatch(/max_tokens must be from 1/);
  });

  it("404 for an unknown model or route", async () => {
    const err = await openai.completions.create({ model: "gpt-9", prompt: "x" }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect((err as Error).message).toMatch(/unknown model "gpt-9": served models are "tiny"/);
    await expectError(await fetch(`${open.url}/v2/nothing`), 404, /no route GET \/v2\/nothing/);
  });

  it("413 for a 10 MiB body, without reading it into memory", async () => {
    const huge = JSON.stringify({ model: "tiny", prompt: "x".repeat(10 * 1024 * 1024) });
    await expectError(await post(completions(), huge), 413, /over 4194304 bytes.*LLM_HTTP_MAX_BODY_BYTES/);
    expect((await fetch(`${open.url}/health`)).status).toBe(200); // still serving
  });

  it("504 past the request's deadline, and the slot is freed", async () => {
    const response = await post(
      completions(),
      { model: "tiny", prompt: PROMPT, max_tokens: LONG },
      { "x-request-timeout-ms": "200" },
    );
    await expectError(response, 504, /deadline/i);
    await expect.poll(runningOnRunner, { timeout: 2000, interval: 20 }).toBe(0);
  });

  it("503 when the pipeline behind the gateway is down; liveness still 200, readiness 503", async () => {
    await expectError(await post(`${broken.url}/v1/completions`, { model: "tiny", prompt: "x" }), 503, /.+/);
    expect((await fetch(`${broken.url}/health`)).status).toBe(200);
    await expectError(await fetch(`${broken.url}/ready`), 503, /not ready: tokenizer: .*runner: .*detokenizer: /);
  });
});

describe("API keys", () => {
  const request = { model: "tiny", prompt: "Hello", max_tokens: 2 };

  it("401 without a key or with a wrong one; both the plain and the sha256-configured key work", async () => {
    const missing = await fetch(`${secured.url}/v1/models`);
    expect(missing.status).toBe(401);
    expect(await missing.json()).toMatchObject({ error: { type: "authentication_error" } });
    const wrong = await client(secured.url, "sk-wrong")
      .completions.create(request)
      .catch((e) => e);
    expect(wrong).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((wrong as Error).message).toMatch(/invalid API key/);
    for (const key of [PLAIN_KEY, HASHED_KEY]) {
      expect((await client(secured.url, key).completions.create(request)).usage?.completion_tokens).toBe(2);
    }
    // Without keys configured (local mode) any or no key is accepted.
    expect((await fetch(`${open.url}/v1/models`)).status).toBe(200);
  });

  it("guards the gRPC API with the same keys, sent as `authorization` metadata", async () => {
    const gateway = createClient(GenerationService, secured.grpc);
    try {
      const denied = await gateway.listModels({}).catch((e) => e);
      expect(denied).toBeInstanceOf(LlmError);
      expect((denied as LlmError).code).toBe("unauthenticated");
      const metadata = new Metadata();
      metadata.set("authorization", `Bearer ${HASHED_KEY}`);
      expect((await gateway.listModels({}, { metadata })).models.map((m) => m.id)).toEqual(["tiny"]);
    } finally {
      gateway.close();
    }
  });

  it("a gRPC Cancel naming an HTTP request's X-Request-Id stops it only for the key that started it", async () => {
    const response = await post(
      `${secured.url}/v1/completions`,
      { ...request, max_tokens: LONG, stream: true },
      { authorization: `Bearer ${PLAIN_KEY}` },
    );
    const requestId = response.headers.get("x-request-id") as string;
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    const gateway = createClient(GenerationService, secured.grpc);
    const as = (key: string) => {
      const metadata = new Metadata();
      metadata.set("authorization", `Bearer ${key}`);
      return { metadata };
    };
    try {
      expect(await gateway.cancel({ requestId }, as(HASHED_KEY))).toMatchObject({ found: false });
      expect(await gateway.cancel({ requestId }, as(PLAIN_KEY))).toMatchObject({ found: true });
    } finally {
      gateway.close();
    }
    const chunks = sseEvents(await response.text());
    expect(chunks.at(-1)).toBe("[DONE]");
    expect(JSON.parse(chunks.at(-2) as string).choices[0].finish_reason).toBe("cancelled");
  });

  it("429 with Retry-After past a key's concurrency limit; the key's slot returns when its request ends", async () => {
    const holder = client(secured.url, PLAIN_KEY);
    const long = await holder.completions.create({ ...request, max_tokens: LONG, stream: true });
    const chunks = long[Symbol.asyncIterator]();
    await chunks.next(); // running now
    const over = await post(`${secured.url}/v1/completions`, request, { authorization: `Bearer ${PLAIN_KEY}` });
    expect(over.status).toBe(429);
    expect(Number(over.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(await over.json()).toMatchObject({
      error: { type: "rate_limit_error", message: /LLM_API_KEY_MAX_CONCURRENT/ },
    });
    // The limit holds across both APIs: the same key over gRPC is turned away too.
    const gateway = createClient(GenerationService, secured.grpc);
    const metadata = new Metadata();
    metadata.set("authorization", `Bearer ${PLAIN_KEY}`);
    const overGrpc = await gateway
      .generateUnary({ request: { prompt: { case: "text", value: "Hello" }, maxTokens: 2 } }, { metadata })
      .catch((e) => e)
      .finally(() => gateway.close());
    expect(overGrpc).toMatchObject({ code: "resource_exhausted", retryAfterMs: 1000 });
    // Another key is not held back by this one's limit.
    expect((await client(secured.url, HASHED_KEY).completions.create(request)).choices).toHaveLength(1);
    long.controller.abort();
    await expect
      .poll(() => holder.completions.create(request).then((c) => c.usage?.completion_tokens), { timeout: 3000 })
      .toBe(2);
  });
});

describe("disconnects", () => {
  it("a client aborting mid-stream cancels the generation at the runner (slot freed)", async () => {
    const stream = await openai.chat.completions.create({
      model: "tiny",
      messages: [{ role: "user", content: "Tell me a very long story" }],
      max_tokens: LONG - 100, // the chat template's tokens count too
      stream: true,
    });
    let received = 0;
    let busy = 0;
    for await (const _chunk of stream) {
      if (++received === 4) {
        busy = await runningOnRunner();
        break; // leaving the loop aborts the HTTP request
      }
    }
    expect(busy).toBe(1);
    // The rest of a LONG stream takes well over a second here: only the cancel can free the slot this soon.
    await expect.poll(runningOnRunner, { timeout: 1000, interval: 20 }).toBe(0);
  });
});
