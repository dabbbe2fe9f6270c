// Property-based fuzzing of the public API (seeded, bounded): generated and mutated requests over HTTP and gRPC,
// raw and truncated bytes, odd headers. Every answer must be a documented status (never 500 / INTERNAL), come
// before its deadline, leave the gateway up with no error logged, and a well-formed request must still succeed.
import { connect } from "node:net";
import { status } from "@grpc/grpc-js";
import { create, GenerateRequestSchema, GenerationService, type MessageInitShape, toBinary } from "@llm/proto";
import { createClient, type ServiceClient } from "@llm/rpc";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalGateway, rawCall, startLocalGateway } from "./gateway-kit.js";

type Request = MessageInitShape<typeof GenerateRequestSchema>;

const SEED = 20261203;
/** Each property stops generating after this long (what ran is still checked), so the file stays affordable. */
const TIME_LIMIT_MS = 12_000;
const HTTP_STATUSES = [200, 400, 404, 413, 429, 504]; // README "Errors"; 401 needs keys, 503 a dead upstream
const GRPC_REFUSALS = [
  status.OK,
  status.INVALID_ARGUMENT,
  status.NOT_FOUND,
  status.RESOURCE_EXHAUSTED,
  status.FAILED_PRECONDITION,
];

let local: LocalGateway;
let client: ServiceClient<typeof GenerationService>;

beforeAll(async () => {
  local = await startLocalGateway(
    { LLM_HTTP_MAX_BODY_BYTES: "65536", LLM_HTTP_REQUEST_TIMEOUT_MS: "15000" },
    { embedder: true },
  );
  client = createClient(GenerationService, local.grpc);
}, 120_000);

afterAll(async () => {
  client?.close();
  await local?.services.stopAll();
});

const params = { seed: SEED, numRuns: 150, interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: false };

// --- generators -------------------------------------------------------------------------------------------

const oddText = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: "binary", maxLength: 20 }), // any code point, lone surrogates included
  fc.constantFrom("\ud800", "a\udc00b", "\u0000", "\uffff", "😀", "<|endoftext|>", "x".repeat(3000), ""),
);
const oddNumber = fc.oneof(
  fc.integer({ min: -3, max: 8 }),
  fc.double(),
  fc.constantFrom(1e308, -1e308, 2 ** 53, 2 ** 64, -(2 ** 63), 0.5, Number.MIN_VALUE),
);
/** A placeholder that `bodyText` turns into arrays nested this deep (fast-check cannot print such values). */
const nested = fc.integer({ min: 1, max: 20_000 }).map((depth) => `__nested_${depth}__`);
const bodyText = (body: unknown) =>
  JSON.stringify(body).replace(/"__nested_(\d+)__"/g, (_, depth) => "[".repeat(depth) + "]".repeat(depth));
/** An OpenAI tool call in an assistant message, its fields sometimes odd. */
const toolCall = fc.record({
  id: fc.oneof(oddText, fc.constantFrom("call_1")),
  type: fc.constantFrom("function", "other"),
  function: fc.record({ name: oddText, arguments: fc.oneof(oddText, fc.constantFrom("{}", '{"a": 1}', "[1]")) }),
});
const oddValue: fc.Arbitrary<unknown> = fc.oneof(
  oddText,
  oddNumber,
  fc.constantFrom(true, false, null, [], {}),
  fc.jsonValue({ maxDepth: 3 }),
  fc.array(oddNumber, { maxLength: 5 }),
  fc.array(
    fc.record(
      {
        role: fc.oneof(oddText, fc.constantFrom("assistant", "tool")),
        content: fc.oneof(oddText, fc.array(fc.jsonValue({ maxDepth: 2 }))),
        tool_calls: fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.array(toolCall, { maxLength: 2 })),
        tool_call_id: fc.oneof(oddText, fc.constantFrom("call_1")),
      },
      { requiredKeys: ["role", "content"] },
    ),
    { maxLength: 3 },
  ),
);
const FIELDS = [
  "model",
  "prompt",
  "messages",
  "max_tokens",
  "max_completion_tokens",
  "temperature",
  "top_p",
  "stop",
  "seed",
  "logprobs",
  "top_logprobs",
  "presence_penalty",
  "frequency_penalty",
  "logit_bias",
  "user",
  "stream",
  "stream_options",
  "n",
  "best_of",
  "echo",
  "suffix",
  "tools",
  "tool_choice",
  "parallel_tool_calls",
  "functions",
  "response_format",
  "guided_json",
  "guided_regex",
  "guided_choice",
  "guided_grammar",
  "top_k",
  "min_p",
  "repetition_penalty",
  "sampler",
  "cache_salt",
  "speculative",
];
/** A request that would be served, with up to four fields replaced or added (known, unknown, deeply nested). */
const jsonBody = fc
  .tuple(
    fc.record({
      model: fc.constantFrom("tiny", ""),
      prompt: fc.constantFrom("Once upon a time", [464, 318]),
      messages: fc.constant([{ role: "user", content: "Hi" }]),
      max_tokens: fc.integer({ min: 1, max: 4 }),
      stream: fc.boolean(),
    }),
    fc.dictionary(fc.oneof(fc.constantFrom(...FIELDS), oddText), fc.oneof(oddValue, nested), { maxKeys: 4 }),
  )
  .map(([base, changes]) => ({ ...base, ...changes }));

/** A /v1/embeddings body that would be served, with up to four fields replaced or added. */
const embeddingsBody = fc
  .tuple(
    fc.record({
      model: fc.constantFrom("embed-tiny", "tiny", ""),
      input: fc.oneof(
        fc.constantFrom("hello", ["a", "b"], [7592, 2088], [[7592], [2088, 2088]]),
        fc.array(oddText, { maxLength: 4 }),
        fc.array(fc.array(oddNumber, { maxLength: 4 }), { maxLength: 3 }),
      ),
    }),
    fc.dictionary(
      fc.oneof(fc.constantFrom("model", "input", "encoding_format", "dimensions", "user", "truncate"), oddText),
      fc.oneof(oddValue, nested, fc.constantFrom("float", "base64")),
      { maxKeys: 4 },
    ),
  )
  .map(([base, changes]) => ({ ...base, ...changes }));

const route = fc.oneof(
  fc.constant({ method: "POST", path: "/v1/completions" }),
  fc.constant({ method: "POST", path: "/v1/chat/completions" }),
  fc.record({
    method: fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH"),
    path: fc.oneof(
      fc.constantFrom("/v1/models", "/v1/models/tiny", "/v1/models/%F0%9F", "/health", "/ready", "/", "/v1/x"),
      fc.string({ maxLength: 12 }).map((s) => `/v1/models/${encodeURIComponent(s)}`),
    ),
  }),
);
const headers = fc.record(
  {
    "content-type": fc.constantFrom("application/json", "APPLICATION/JSON; charset=utf-8", "text/plain", "", "json"),
    "x-request-timeout-ms": fc.constantFrom("1", "250", "-5", "abc", "1e400", "0.5", "99999999999"),
    authorization: fc.constantFrom("Bearer x", "Basic Zm9v", "", "Bearer"),
    accept: fc.constantFrom("text/event-stream", "*/*", "application/json"),
  },
  { requiredKeys: [] },
);

const floatField = fc.oneof(fc.float(), fc.constantFrom(0, 1, 2, -1, Number.NaN, Number.POSITIVE_INFINITY));
const grpcRequest: fc.Arbitrary<Request> = fc.record(
  {
    model: fc.constantFrom("tiny", "", "gpt-9", "\u0000"),
    prompt: fc.oneof(
      fc.record({ case: fc.constant("text" as const), value: oddText }),
      fc.record({
        case: fc.constant("chat" as const),
        value: fc.record(
          {
            messages: fc.array(
              fc.record(
                {
                  role: fc.oneof(oddText, fc.constantFrom("assistant", "tool")),
                  content: oddText,
                  toolCalls: fc.array(fc.record({ id: oddText, name: oddText, arguments: oddText }), { maxLength: 2 }),
                  toolCallId: oddText,
                },
                { requiredKeys: ["role", "content"] },
              ),
              { maxLength: 3 },
            ),
            toolsJson: fc.oneof(oddText, fc.constant(JSON.stringify([{ type: "function", function: { name: "f" } }]))),
            toolChoice: fc.oneof(
              fc.record({ case: fc.constant("toolChoiceMode" as const), value: fc.integer({ min: -1, max: 5 }) }),
              fc.record({ case: fc.constant("toolChoiceFunction" as const), value: oddText }),
            ),
            parallelToolCalls: fc.boolean(),
          },
          { requiredKeys: ["messages"] },
        ),
      }),
      fc.record({
        case: fc.constant("tokenIds" as const),
        value: fc.record({ ids: fc.array(fc.nat({ max: 2 ** 32 - 1 }), { maxLength: 5 }) }),
      }),
    ),
    maxTokens: fc.oneof(fc.integer({ min: 0, max: 6 }), fc.constantFrom(2 ** 32 - 1, 1_000_000)),
    sampling: fc.record(
      {
        temperature: floatField,
        topK: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        topP: floatField,
        minP: floatField,
        repetitionPenalty: floatField,
        presencePenalty: floatField,
        frequencyPenalty: floatField,
        logitBias: fc.dictionary(fc.nat({ max: 60_000 }).map(String), floatField, { maxKeys: 3 }),
        seed: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        strategy: fc.constantFrom("", "greedy", "standard", "nope"),
        topLogprobs: fc.integer({ min: -3, max: 40 }),
        logprobs: fc.boolean(),
      },
      { requiredKeys: [] },
    ),
    stop: fc.array(oddText, { maxLength: 10 }),
    requestId: oddText,
    includeTokenIds: fc.boolean(),
    cacheSalt: oddText,
    resumeFromIndex: fc.nat(),
  },
  { requiredKeys: ["prompt", "maxTokens"] },
);
const METHODS = ["Generate", "GenerateUnary", "Cancel", "ListModels"] as const;
/** A valid request's bytes, truncated or with bytes overwritten or inserted, or bytes from nowhere. */
const rawBytes = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc
    .tuple(
      grpcRequest,
      fc.nat(),
      fc.uint8Array({ minLength: 1, maxLength: 6 }),
      fc.constantFrom("cut", "set", "insert"),
    )
    .map(([request, at, noise, how]) => {
      const bytes = toBinary(GenerateRequestSchema, create(GenerateRequestSchema, request));
      const i = bytes.length === 0 ? 0 : at % bytes.length;
      if (how === "cut") return bytes.slice(0, i);
      if (how === "insert") return Uint8Array.from([...bytes.slice(0, i), ...noise, ...bytes.slice(i)]);
      const copy = Uint8Array.from(bytes);
      copy.set(noise.slice(0, copy.length - i), i);
      return copy;
    }),
);

// --- properties -------------------------------------------------------------------------------------------

/** The whole answer (a stream read to its end), within 20 s; its status and body. */
async function send(method: string, path: string, body: string | Uint8Array | undefined, extra: object = {}) {
  const response = await fetch(`${local.url}${path}`, {
    method,
    headers: { "content-type": "application/json", ...extra },
    body: method === "GET" || method === "HEAD" ? undefined : body,
    signal: AbortSignal.timeout(20_000),
  });
  return { status: response.status, text: await response.text() };
}

/** Writes `request` on a plain socket, half-closes it, and returns whatever came back. */
async function rawHttp(request: string): Promise<string> {
  const { hostname, port } = new URL(local.url);
  return new Promise((resolve) => {
    let answer = "";
    const socket = connect(Number(port), hostname, () => socket.end(request));
    socket.setEncoding("utf8").on("data", (chunk: string) => {
      answer += chunk;
    });
    socket.on("close", () => resolve(answer)).on("error", () => resolve(answer));
  });
}

function expectDocumented({ status: code, text }: { status: number; text: string }, what: unknown): void {
  expect(HTTP_STATUSES, `${code} for ${JSON.stringify(what)?.slice(0, 300)}: ${text.slice(0, 300)}`).toContain(code);
  expect(text, "an error inside a stream").not.toMatch(/"code":\s*"internal"/);
}

async function expectStillServing(): Promise<void> {
  const answer = await send("POST", "/v1/completions", JSON.stringify({ prompt: "Hello", max_tokens: 2 }));
  expect(answer.status).toBe(200);
  const unary = await client.generateUnary({ request: { prompt: { case: "text", value: "Hello" }, maxTokens: 2 } });
  expect(unary.usage?.completionTokens).toBe(2);
  expect(local.gateway.process.exitCode).toBeNull();
  expect(local.gateway.stderr()).not.toMatch(/"level":"error"/);
}

describe("fuzzing the public API (seeded)", () => {
  it("HTTP: generated JSON bodies on every route, with header variations", async () => {
    await fc.assert(
      fc.asyncProperty(route, jsonBody, headers, async ({ method, path }, body, extra) => {
        expectDocumented(await send(method, path, bodyText(body), extra), { method, path, body, extra });
      }),
      params,
    );
    await expectStillServing();
  }, 60_000);

  it("HTTP: generated /v1/embeddings bodies", async () => {
    await fc.assert(
      fc.asyncProperty(embeddingsBody, async (body) => {
        expectDocumented(await send("POST", "/v1/embeddings", bodyText(body)), body);
      }),
      params,
    );
    const answer = await send("POST", "/v1/embeddings", JSON.stringify({ model: "embed-tiny", input: ["a", "b"] }));
    expect(answer.status).toBe(200);
    await expectStillServing();
  }, 60_000);

  it("HTTP: random, truncated and mangled bytes as bodies, and bodies cut short on the socket", async () => {
    const valid = Buffer.from(JSON.stringify({ prompt: "Once upon a time", max_tokens: 2, stream: true }));
    const bodies = fc.oneof(
      fc.uint8Array({ maxLength: 400 }),
      fc.nat({ max: valid.length }).map((n) => valid.subarray(0, n)),
      fc.tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 0, max: 255 })).map(([i, byte]) => {
        const copy = Buffer.from(valid);
        copy[i] = byte;
        return copy;
      }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("/v1/completions", "/v1/chat/completions", "/v1/embeddings"),
        bodies,
        async (path, body) => {
          expectDocumented(await send("POST", path, body), { path, body: Buffer.from(body).toString("base64") });
        },
      ),
      params,
    );
    // Clients that promise more bytes than they send and hang up, and request targets no URL parser accepts.
    const head = (target: string, length: number) =>
      `POST ${target} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${length}\r\n\r\n`;
    for (const sent of [0, 10, valid.length]) {
      await rawHttp(`${head("/v1/completions", valid.length + 50)}${valid.subarray(0, sent)}`);
    }
    for (const target of ["//[", "/%", "*", "http://x/v1/models", "/v1/models/%ZZ"]) {
      expect(await rawHttp(`${head(target, 2)}{}`)).toMatch(/^HTTP\/1\.1 (400|404) /);
    }
    await expectStillServing();
  }, 60_000);

  it("gRPC: generated requests on Generate and GenerateUnary", async () => {
    await fc.assert(
      fc.asyncProperty(grpcRequest, fc.boolean(), async (request, unary) => {
        const bytes = unary
          ? toBinary(GenerationService.method.generateUnary.input, {
              $typeName: "llm.v1.GenerateUnaryRequest",
              request: create(GenerateRequestSchema, request),
            })
          : toBinary(GenerateRequestSchema, create(GenerateRequestSchema, request));
        const answer = await rawCall(local.grpc, unary ? "GenerateUnary" : "Generate", bytes);
        expect(GRPC_REFUSALS, `${answer.code} ${answer.details}`).toContain(answer.code);
      }),
      params,
    );
    await expectStillServing();
  }, 60_000);

  it("gRPC: random, truncated and mutated protobuf bytes on every method", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...METHODS), rawBytes, async (method, bytes) => {
        const answer = await rawCall(local.grpc, method, bytes);
        expect(GRPC_REFUSALS, `${method}: ${answer.code} ${answer.details}`).toContain(answer.code);
      }),
      params,
    );
    await expectStillServing();
  }, 60_000);
});
