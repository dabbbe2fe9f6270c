// One rule for text and prompts on both APIs: strings must be UTF-8 text (an HTTP body's invalid bytes or escaped
// lone surrogates are refused like gRPC's invalid UTF-8, naming the field, before any upstream call); chat roles
// are OpenAI's; a prompt may be token ids, checked against the vocabulary and the context.
import { status } from "@grpc/grpc-js";
import type { LlmError } from "@llm/errors";
import { ensureModel } from "@llm/model-pack";
import { create, GenerateRequestSchema, GenerationService, type MessageInitShape, toBinary } from "@llm/proto";
import { createClient, type ServiceClient } from "@llm/rpc";
import { llmFailure } from "@llm/testing";
import { Tokenizer } from "@llm/tokenizer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GATEWAY, type LocalGateway, rawCall, startLocalGateway } from "./gateway-kit.js";

type Request = MessageInitShape<typeof GenerateRequestSchema>;

const PROMPT = "It was a bright cold day in April";
let local: LocalGateway;
let unreachable: { url: string; grpc: string }; // a gateway whose upstreams do not exist: any upstream call fails
let client: ServiceClient<typeof GenerationService>;
let tokenizer: Tokenizer;
let contextLength: number;

beforeAll(async () => {
  local = await startLocalGateway();
  const none = { LLM_TOKENIZER_URL: "127.0.0.1:1", LLM_RUNNER_URL: "127.0.0.1:1", LLM_DETOKENIZER_URL: "127.0.0.1:1" };
  const [broken] = await local.services.start([[GATEWAY, { name: "gateway-unreachable", env: none }]]);
  unreachable = { url: await broken.listening("gateway-http"), grpc: broken.address };
  client = createClient(GenerationService, local.grpc);
  tokenizer = await Tokenizer.fromFile((await ensureModel("tiny")).dir);
  contextLength = (await client.listModels({})).models[0].contextLength;
}, 120_000);

afterAll(async () => {
  client?.close();
  const exits = await local?.services.stopAll();
  expect(exits?.map((e) => e.code)).toEqual(exits?.map(() => 0));
});

async function post(url: string, path: string, body: string | Buffer | object): Promise<Response> {
  const payload = typeof body === "string" || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  return fetch(`${url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: payload });
}

async function expect400(response: Response, param: string, message: RegExp): Promise<void> {
  const body = (await response.json()) as { error: { message: string; param: string | null } };
  expect({ status: response.status, param: body.error.param }).toEqual({ status: 400, param });
  expect(body.error.message).toMatch(message);
}

function grpcFailure(request: Request): Promise<LlmError> {
  return llmFailure(client.generateUnary({ request }));
}

const NOT_TEXT = /is not valid UTF-8 text/;
const bytes = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((part) => (typeof part === "string" ? Buffer.from(part) : Buffer.from(part))));

describe("text that is not UTF-8", () => {
  it("HTTP: an escaped lone surrogate in any field is 400 naming it, before any upstream call", async () => {
    const cases: [string, string, string][] = [
      ["/v1/completions", '{"model": "tiny", "prompt": "a\\ud800b"}', "prompt"],
      ["/v1/completions", '{"prompt": ["x\\udc00"]}', "prompt[0]"],
      ["/v1/completions", '{"prompt": "ok", "stop": ["fine", "\\udfff"]}', "stop[1]"],
      ["/v1/completions", '{"prompt": "ok", "unknown": {"deep": [1, "\\ud83d"]}}', "unknown.deep[1]"],
      [
        "/v1/chat/completions",
        '{"messages": [{"role": "user", "content": "hi"}, {"role": "user", "content": "\\ud800\\ud800"}]}',
        "messages[1].content",
      ],
    ];
    for (const [path, body, param] of cases) {
      await expect400(await post(local.url, path, body), param, NOT_TEXT);
      await expect400(await post(unreachable.url, path, body), param, NOT_TEXT);
    }
    // A surrogate pair, escaped or raw, is ordinary text.
    const pair = await post(local.url, "/v1/completions", '{"prompt": "\\ud83d\\ude00 😀", "max_tokens": 2}');
    expect(pair.status).toBe(200);
  });

  it("HTTP: raw bytes that are not UTF-8 are 400 naming the field (never silently replaced)", async () => {
    const cases: [string, Buffer, string][] = [
      ["/v1/completions", bytes('{"prompt": "Hi', [0xc3, 0x28], '"}'), "prompt"],
      ["/v1/completions", bytes('{"prompt": "Hi", "user": "', [0xed, 0xa0, 0x80], '"}'), "user"], // UTF-8 of a surrogate
      [
        "/v1/chat/completions",
        bytes('{"messages": [{"role": "user", "content": "', [0xf0, 0x9f, 0x98], '"}]}'), // truncated emoji
        "messages[0].content",
      ],
      ["/v1/completions", bytes('{"prompt": "\\ud800', [0xff], '"}'), "body"], // its marker must not pair up
    ];
    for (const [path, body, param] of cases) {
      await expect400(await post(local.url, path, body), param, NOT_TEXT);
      await expect400(await post(unreachable.url, path, body), param, NOT_TEXT);
    }
  });

  it("gRPC: invalid UTF-8 is INVALID_ARGUMENT naming the field, before any upstream call", async () => {
    const valid = toBinary(
      GenerateRequestSchema,
      create(GenerateRequestSchema, {
        prompt: {
          case: "chat",
          value: {
            messages: [
              { role: "user", content: "ok" },
              { role: "user", content: "ÿÿ" },
            ],
          },
        },
        maxTokens: 4,
      }),
    );
    const broken = Buffer.from(valid);
    broken.set([0x61, 0xff, 0xfe, 0x62], broken.indexOf(Buffer.from("ÿÿ"))); // same length, not UTF-8
    for (const address of [local.grpc, unreachable.grpc]) {
      expect(await rawCall(address, "Generate", broken)).toMatchObject({
        code: status.INVALID_ARGUMENT,
        details:
          "request is not a valid llm.v1.GenerateRequest: prompt.chat.messages[1].content is not valid UTF-8 text",
      });
    }
  });
});

describe("chat roles", () => {
  it("serves OpenAI's roles, system, developer, user, assistant and tool", async () => {
    const messages: Record<string, unknown>[] = ["system", "developer", "user", "assistant", "tool", "user"].map(
      (role) => ({ role, content: `a ${role} message` }),
    );
    // A tool message answers a call an earlier assistant message made.
    messages[3].tool_calls = [{ id: "call_1", type: "function", function: { name: "f", arguments: "{}" } }];
    messages[4].tool_call_id = "call_1";
    const response = await post(local.url, "/v1/chat/completions", { messages, max_tokens: 2 });
    expect(response.status).toBe(200);
  });

  it("refuses any other role naming it: 400 over HTTP, INVALID_ARGUMENT over gRPC", async () => {
    const messages = [
      { role: "user", content: "Hi" },
      { role: "wizard", content: "Abracadabra" },
    ];
    const roleProblem = /messages\[1\]\.role is "wizard": a message's role is one of system, developer, user/;
    await expect400(await post(local.url, "/v1/chat/completions", { messages }), "messages[1].role", roleProblem);
    const err = await grpcFailure({ prompt: { case: "chat", value: { messages } }, maxTokens: 4 });
    expect(err.code).toBe("invalid_argument");
    expect(err.message).toMatch(roleProblem);
  });
});

describe("token-id prompts", () => {
  it("HTTP `prompt: [ids]` and `[[ids]]` and gRPC token_ids continue exactly like the text they encode", async () => {
    const ids = [...tokenizer.encode(PROMPT)];
    const completion = async (prompt: unknown) => {
      const response = await post(local.url, "/v1/completions", { prompt, max_tokens: 8, temperature: 0 });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { choices: { text: string }[]; usage: { prompt_tokens: number } };
      return { text: body.choices[0].text, promptTokens: body.usage.prompt_tokens };
    };
    const fromText = await completion(PROMPT);
    expect(await completion(ids)).toEqual(fromText);
    expect(await completion([ids])).toEqual(fromText);
    const unary = await client.generateUnary({
      request: { prompt: { case: "tokenIds", value: { ids } }, maxTokens: 8, sampling: { temperature: 0 } },
    });
    expect(unary.text).toBe(fromText.text);
    expect(unary.usage?.promptTokens).toBe(ids.length);
  });

  it("refuses an id outside the vocabulary, naming it; a negative or fractional id; and a prompt over the context", async () => {
    const bad = [464, 318, 50_257, 1];
    await expect400(
      await post(local.url, "/v1/completions", { prompt: bad }),
      "prompt[2]",
      /ids\[2\] is 50257, not a token id of model "tiny" \(0 to 50256\)/,
    );
    await expect400(await post(local.url, "/v1/completions", { prompt: [[5, -1]] }), "prompt", /prompt\[1\] is -1/);
    await expect400(await post(local.url, "/v1/completions", { prompt: [5, 2.5] }), "prompt", /prompt\[1\] is 2.5/);
    await expect400(
      await post(local.url, "/v1/completions", { prompt: [] }),
      "prompt",
      /prompt.token_ids.ids is empty/,
    );
    const err = await grpcFailure({ prompt: { case: "tokenIds", value: { ids: bad } }, maxTokens: 4 });
    expect(err.code).toBe("invalid_argument");
    expect(err.message).toMatch(/prompt\.token_ids\.ids\[2\] is 50257/);
    const full = await post(local.url, "/v1/completions", { prompt: [1, 2, 3], max_tokens: contextLength - 2 });
    await expect400(full, "max_tokens", new RegExp(`the prompt is 3 tokens and max_tokens is ${contextLength - 2}`));
  });
});
