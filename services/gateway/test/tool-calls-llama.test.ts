// Llama 3's tool-call syntax on the llama-tiny preset (Llama 3.1's real tokenizer and template, random weights):
// the tokenizer reads the family from the chat template, so calls are written and constrained as bare
// `{"name": …, "parameters": {…}}` objects (`;` between them) instead of Hermes tags, and parsed back into
// OpenAI's tool_calls. tool_choice required and named make the constraint guarantee a valid call.
import { ChatPromptSchema, create, GenerateRequestSchema, GenerationService, ToolChoiceMode } from "@llm/proto";
import { createClient, type ServiceClient } from "@llm/rpc";
import { familyDir } from "@llm/testing";
import { Tokenizer } from "@llm/tokenizer";
import OpenAI from "openai";
import type { ChatCompletionCreateParamsNonStreaming } from "openai/resources/chat/completions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalGateway, startLocalGateway } from "./gateway-kit.js";
import { expectValidCalls, TOOLS } from "./tool-kit.js";

let gateway: LocalGateway;
let openai: OpenAI;
let client: ServiceClient<typeof GenerationService>;

beforeAll(async () => {
  gateway = await startLocalGateway({}, { preset: "llama-tiny" });
  openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "unused", maxRetries: 0 });
  client = createClient(GenerationService, gateway.grpc);
}, 180_000);
afterAll(async () => {
  client?.close();
  await gateway?.services.stopAll();
});

const ask = (seed: number, extra: Partial<ChatCompletionCreateParamsNonStreaming> = {}) =>
  ({
    model: "llama-tiny",
    messages: [{ role: "user", content: `Weather or time? ${seed}` }],
    tools: TOOLS,
    tool_choice: "required",
    seed,
    temperature: 1,
    max_tokens: 120,
    ...extra,
  }) as ChatCompletionCreateParamsNonStreaming;

const functionsOf = (calls: readonly unknown[] | undefined) =>
  (calls ?? []).map((call) => (call as { function: { name: string; arguments: string } }).function);

describe("Llama 3 JSON tool calls", () => {
  it("the output is Llama 3's JSON call, not Hermes tags, and parses into a valid call", async () => {
    const request = create(GenerateRequestSchema, {
      model: "llama-tiny",
      prompt: {
        case: "chat",
        value: create(ChatPromptSchema, {
          messages: [{ role: "user", content: "Time?" }],
          toolsJson: JSON.stringify(TOOLS),
          toolChoice: { case: "toolChoiceMode", value: ToolChoiceMode.REQUIRED },
          parallelToolCalls: false,
        }),
      },
      maxTokens: 120,
      includeTokenIds: true,
      sampling: { temperature: 1, seed: 7n },
    });
    const answer = await client.generateUnary({ request });
    const raw = (await Tokenizer.fromFile(familyDir("llama3_1"))).decode(answer.tokenIds, { skipSpecialTokens: true });
    expect(raw).toMatch(/^\{"name": "get_(weather|time)", "parameters": \{/);
    expect(answer.toolCalls).toHaveLength(1);
    expectValidCalls(answer.toolCalls);
    expect(raw).toContain(answer.toolCalls[0].arguments);
  }, 60_000);

  it("required and named: every seeded answer calls a declared (or the named) function with valid arguments", async () => {
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, seed) =>
        openai.chat.completions.create(
          seed % 2 === 0 ? ask(seed) : ask(seed, { tool_choice: { type: "function", function: { name: "get_time" } } }),
        ),
      ),
    );
    answers.forEach((answer, seed) => {
      const [choice] = answer.choices;
      expect(choice.finish_reason, JSON.stringify(choice.message)).toBe("tool_calls");
      expectValidCalls(functionsOf(choice.message.tool_calls), seed % 2 === 0 ? undefined : ["get_time"]);
    });
  }, 120_000);

  it("streamed calls (parallel ones allowed, `;` between them) reassemble into the whole response's", async () => {
    for (const seed of [21, 22]) {
      const body = ask(seed, { parallel_tool_calls: true, max_tokens: 200 });
      const whole = await openai.chat.completions.create(body);
      const stream = await openai.chat.completions.create({ ...body, stream: true });
      const streamed: { name: string; arguments: string }[] = [];
      for await (const chunk of stream) {
        for (const delta of chunk.choices[0]?.delta.tool_calls ?? []) {
          if (delta.id) streamed.push({ name: delta.function?.name ?? "", arguments: "" });
          else streamed[delta.index].arguments += delta.function?.arguments ?? "";
        }
      }
      expect(streamed).toEqual(functionsOf(whole.choices[0].message.tool_calls));
      expectValidCalls(streamed);
    }
  }, 120_000);

  it('auto compiles the triggered Llama tag (free text until `{"name"`): answers are served, any call valid', async () => {
    for (const seed of [31, 32, 33]) {
      const answer = await openai.chat.completions.create(ask(seed, { tool_choice: "auto", max_tokens: 24 }));
      const calls = functionsOf(answer.choices[0].message.tool_calls);
      if (calls.length > 0) expectValidCalls(calls);
      else expect(answer.choices[0].finish_reason).not.toBe("tool_calls");
    }
  }, 60_000);
});
