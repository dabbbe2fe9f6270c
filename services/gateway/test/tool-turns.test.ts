// Earlier tool turns on /v1/chat/completions with the official `openai` client, on a model with Qwen 3's real
// tokenizer and chat template (the llama-tiny-headdim preset, random weights): an assistant message's
// `tool_calls` and the "tool" messages answering them reach the template, which renders them exactly as
// transformers.js's apply_chat_template does (arguments as objects, as transformers and vLLM pass them);
// malformed tool turns are 400s naming the field.
import { dirname } from "node:path";
import { AutoTokenizer, env } from "@huggingface/transformers";
import { familyDir } from "@llm/testing";
import OpenAI from "openai";
import type { ChatCompletionMessageParam } from "openai/resources/chat/completions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalGateway, startLocalGateway } from "./gateway-kit.js";
import { TOOLS } from "./tool-kit.js";

let gateway: LocalGateway;
let openai: OpenAI;
let oracle: { apply_chat_template(messages: unknown[], options: Record<string, unknown>): number[] };

beforeAll(async () => {
  gateway = await startLocalGateway({}, { preset: "llama-tiny-headdim" });
  openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "unused", maxRetries: 0 });
  env.allowRemoteModels = false;
  env.localModelPath = dirname(familyDir("qwen3"));
  oracle = (await AutoTokenizer.from_pretrained("models")) as unknown as typeof oracle;
}, 180_000);
afterAll(() => gateway?.services.stopAll());

const CONVERSATION: ChatCompletionMessageParam[] = [
  { role: "system", content: "Use the tools." },
  { role: "user", content: "Weather in Paris, and the time in UTC?" },
  {
    role: "assistant",
    content: null,
    tool_calls: [
      {
        id: "call_a",
        type: "function",
        function: { name: "get_weather", arguments: '{"city": "Paris", "unit": "c"}' },
      },
      { id: "call_b", type: "function", function: { name: "get_time", arguments: '{"zone": "UTC"}' } },
    ],
  },
  { role: "tool", tool_call_id: "call_a", content: '{"celsius": 18}' },
  { role: "tool", tool_call_id: "call_b", content: "12:00" },
  { role: "assistant", content: "It is 18 °C in Paris at 12:00 UTC." },
  { role: "user", content: "And in Oslo?" },
];

/** The conversation as transformers passes it to a template: null content as "", arguments as objects. */
function templateShape(messages: ChatCompletionMessageParam[]): unknown[] {
  return messages.map((message) => {
    const calls = "tool_calls" in message ? message.tool_calls : undefined;
    return {
      ...message,
      content: message.content ?? "",
      ...(calls
        ? {
            tool_calls: calls.map((call) =>
              "function" in call
                ? { ...call, function: { ...call.function, arguments: JSON.parse(call.function.arguments) } }
                : call,
            ),
          }
        : {}),
    };
  });
}

const ask = (messages: ChatCompletionMessageParam[]) =>
  openai.chat.completions.create({ model: "llama-tiny-headdim", messages, tools: TOOLS, max_tokens: 1 });

describe("earlier tool turns", () => {
  it("render through the chat template exactly as transformers.js renders them", async () => {
    const answer = await ask(CONVERSATION);
    const expected = oracle.apply_chat_template(templateShape(CONVERSATION), {
      tools: TOOLS,
      add_generation_prompt: true,
      return_tensor: false,
      return_dict: false,
    });
    expect(answer.usage?.prompt_tokens).toBe(expected.length);
    // The calls and results are in that prompt: without them the template writes fewer tokens.
    const without = CONVERSATION.filter((m) => m.role !== "tool" && !("tool_calls" in m && m.tool_calls));
    const shorter = oracle.apply_chat_template(templateShape(without), {
      tools: TOOLS,
      add_generation_prompt: true,
      return_tensor: false,
      return_dict: false,
    });
    expect(shorter.length).toBeLessThan(expected.length);
  }, 60_000);

  it("refuses malformed tool turns with a 400 naming the field", async () => {
    const user = { role: "user", content: "hi" } as const;
    const call = (args: string) => ({
      id: "c1",
      type: "function" as const,
      function: { name: "get_time", arguments: args },
    });
    const cases: [unknown[], RegExp][] = [
      [[user, { role: "tool", content: "42" }], /messages\[1\] has role "tool" but no tool_call_id/],
      [
        [user, { role: "tool", tool_call_id: "nope", content: "42" }],
        /messages\[1\]\.tool_call_id is "nope", which no earlier assistant message's tool_calls has/,
      ],
      [
        [user, { role: "assistant", content: null, tool_calls: [call("{not json")] }],
        /messages\[1\]\.tool_calls\[0\]\.function\.arguments is not valid JSON/,
      ],
      [
        [user, { role: "assistant", content: null, tool_calls: [call('"text"')] }],
        /messages\[1\]\.tool_calls\[0\]\.function\.arguments must be a JSON object/,
      ],
      [
        [user, { role: "assistant", content: null, tool_calls: [{ id: "c1", function: { name: "f" } }] }],
        /messages\[1\]\.tool_calls\[0\] must be \{"id": string, "type": "function"/,
      ],
      [[{ ...user, tool_calls: [call("{}")] }], /messages\[0\]\.tool_calls: only assistant messages carry tool calls/],
      [[{ ...user, tool_call_id: "c1" }], /messages\[0\]\.tool_call_id: only "tool" messages answer a call/],
    ];
    for (const [messages, problem] of cases) {
      const refused = await ask(messages as ChatCompletionMessageParam[]).then(
        () => ({ status: 200, message: "" }),
        (err: { status?: number; message: string }) => err,
      );
      expect(refused.status, JSON.stringify(messages)).toBe(400);
      expect(refused.message).toMatch(problem);
    }
  }, 60_000);
});
