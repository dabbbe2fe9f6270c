// Tool calling over HTTP with the official `openai` client on the random-weight tiny model: `required` and a
// named function are forced by a structural-tag constraint, so every answer calls a declared function with
// schema-valid arguments; streamed calls reassemble into the whole response's; bad tool requests are 400s.
import OpenAI from "openai";
import type { ChatCompletionCreateParamsNonStreaming } from "openai/resources/chat/completions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalGateway, startLocalGateway } from "./gateway-kit.js";
import { expectValidCalls, TOOLS } from "./tool-kit.js";

let gateway: LocalGateway;
let openai: OpenAI;

beforeAll(async () => {
  gateway = await startLocalGateway();
  openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "unused", maxRetries: 0 });
}, 120_000);
afterAll(() => gateway?.services.stopAll());

const ask = (seed: number, extra: Partial<ChatCompletionCreateParamsNonStreaming> = {}) =>
  ({
    model: "tiny",
    messages: [{ role: "user", content: `What is the weather like, ${seed}?` }],
    tools: TOOLS,
    tool_choice: "required",
    parallel_tool_calls: false,
    seed,
    temperature: 1,
    max_tokens: 200,
    ...extra,
  }) as ChatCompletionCreateParamsNonStreaming;

describe("tool_choice required / named", () => {
  it("required: every one of 20 seeded answers calls a declared function with valid arguments", async () => {
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, seed) => openai.chat.completions.create(ask(seed))),
    );
    for (const answer of answers) {
      const [choice] = answer.choices;
      expect(choice.finish_reason).toBe("tool_calls");
      const calls = (choice.message.tool_calls ?? []).map((c) =>
        "function" in c ? c.function : { name: "", arguments: "" },
      );
      expect(calls).toHaveLength(1); // parallel_tool_calls: false
      expectValidCalls(calls);
      expect(choice.message.tool_calls?.[0].id).toMatch(/^call_[0-9a-f]{24}$/);
    }
  }, 180_000);

  it("a named function is the one called; parallel calls are all valid", async () => {
    const named = await openai.chat.completions.create(
      ask(3, { tool_choice: { type: "function", function: { name: "get_time" } } }),
    );
    const namedCalls = (named.choices[0].message.tool_calls ?? []).map((c) =>
      "function" in c ? c.function : { name: "", arguments: "" },
    );
    expectValidCalls(namedCalls, ["get_time"]);
    const parallel = await openai.chat.completions.create(ask(4, { parallel_tool_calls: true, max_tokens: 400 }));
    const calls = (parallel.choices[0].message.tool_calls ?? []).map((c) =>
      "function" in c ? c.function : { name: "", arguments: "" },
    );
    expectValidCalls(calls);
  }, 120_000);

  it("streamed tool calls reassemble into the same calls as the whole response", async () => {
    for (const seed of [5, 6, 7, 8]) {
      const whole = await openai.chat.completions.create(ask(seed, { parallel_tool_calls: true, max_tokens: 400 }));
      const stream = await openai.chat.completions.create({
        ...ask(seed, { parallel_tool_calls: true, max_tokens: 400 }),
        stream: true,
      });
      const streamed: { id: string; name: string; arguments: string; fragments: number }[] = [];
      let finish: string | null = null;
      for await (const chunk of stream) {
        for (const delta of chunk.choices[0]?.delta.tool_calls ?? []) {
          if (delta.id) {
            expect(delta.index).toBe(streamed.length); // id and name come first, in index order
            expect(delta.function?.arguments).toBe("");
            streamed.push({ id: delta.id, name: delta.function?.name ?? "", arguments: "", fragments: 0 });
          } else {
            expect(delta.function?.arguments).not.toBe(""); // later chunks carry argument text
            streamed[delta.index].arguments += delta.function?.arguments;
            streamed[delta.index].fragments += 1;
          }
        }
        finish = chunk.choices[0]?.finish_reason ?? finish;
      }
      // The arguments come as they are generated, a few tokens per chunk, not in one piece at the call's end.
      for (const call of streamed) expect(call.fragments).toBeGreaterThan(3);
      const wholeCalls = (whole.choices[0].message.tool_calls ?? []).map((c) =>
        "function" in c ? { name: c.function.name, arguments: c.function.arguments } : {},
      );
      expect(streamed.map(({ name, arguments: args }) => ({ name, arguments: args }))).toEqual(wholeCalls);
      expect(finish).toBe(whole.choices[0].finish_reason);
    }
  }, 180_000);

  it("none: no calls; auto: any call is valid", async () => {
    const none = await openai.chat.completions.create(ask(9, { tool_choice: "none", max_tokens: 16 }));
    expect(none.choices[0].message.tool_calls ?? []).toEqual([]);
    const auto = await openai.chat.completions.create(ask(10, { tool_choice: "auto", max_tokens: 32 }));
    const calls = (auto.choices[0].message.tool_calls ?? []).map((c) =>
      "function" in c ? c.function : { name: "", arguments: "" },
    );
    if (calls.length > 0) expectValidCalls(calls);
  }, 60_000);
});

describe("refusals", () => {
  const refused = (body: Partial<ChatCompletionCreateParamsNonStreaming>) =>
    openai.chat.completions.create(ask(1, body)).then(
      () => ({ status: 200, message: "" }),
      (err: { status?: number; message: string }) => err,
    );

  it("an unknown function in tool_choice, a bad tool schema, tool_choice without tools: 400 naming it", async () => {
    const unknown = await refused({ tool_choice: { type: "function", function: { name: "get_stock" } } });
    expect(unknown.status).toBe(400);
    expect(unknown.message).toMatch(/tool_choice names function "get_stock", which is not in tools/);
    const badSchema = await refused({
      tools: [{ type: "function", function: { name: "f", parameters: { type: "object", not: {} } } }],
    });
    expect(badSchema.status).toBe(400);
    expect(badSchema.message).toMatch(/tools\[0\]\.function\.parameters: json_schema keyword "not"/);
    const noTools = await refused({ tools: undefined });
    expect(noTools.status).toBe(400);
    expect(noTools.message).toMatch(/tool_choice needs tools/);
    const autoNoTools = await refused({ tools: undefined, tool_choice: "auto" });
    expect(autoNoTools.status).toBe(400);
    expect(autoNoTools.message).toMatch(/tool_choice needs tools/);
  });
});
