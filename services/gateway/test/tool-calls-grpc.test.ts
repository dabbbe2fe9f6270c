// Tool calling on the gateway's gRPC GenerationService, against a real gateway and back ends on the random-weight
// tiny model: ChatPrompt's tools and tool_choice constrain the calls as on HTTP; the final message (streamed
// and unary) carries the parsed calls with FINISH_REASON_TOOL_CALLS; the deltas' pieces reassemble into them;
// earlier tool turns (assistant calls, "tool" results) are accepted, malformed ones refused naming the field.
import {
  type ChatMessageSchema,
  type ChatPrompt,
  create,
  FinishReason,
  type GenerateFinal,
  type GenerateRequest,
  GenerateRequestSchema,
  type GenerateResponse,
  GenerationService,
  type MessageInitShape,
  type SamplingParamsSchema,
  ToolChoiceMode,
} from "@llm/proto";
import { createClient, type ServiceClient } from "@llm/rpc";
import { llmFailure } from "@llm/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalGateway, startLocalGateway } from "./gateway-kit.js";
import { expectValidCalls, TOOLS } from "./tool-kit.js";

let gateway: LocalGateway;
let client: ServiceClient<typeof GenerationService>;

beforeAll(async () => {
  gateway = await startLocalGateway();
  client = createClient(GenerationService, gateway.grpc);
}, 120_000);
afterAll(async () => {
  client?.close();
  await gateway?.services.stopAll();
});

interface ChatInit {
  messages?: MessageInitShape<typeof ChatMessageSchema>[];
  toolsJson?: string;
  toolChoice?: ChatPrompt["toolChoice"];
  parallelToolCalls?: boolean;
}
interface RequestInit {
  maxTokens?: number;
  requestId?: string;
  sampling?: MessageInitShape<typeof SamplingParamsSchema>;
}

const ask = (seed: number, chat: ChatInit = {}, extra: RequestInit = {}): GenerateRequest =>
  create(GenerateRequestSchema, {
    model: "tiny",
    prompt: {
      case: "chat",
      value: {
        messages: [{ role: "user", content: `What is the weather like, ${seed}?` }],
        toolsJson: JSON.stringify(TOOLS),
        toolChoice: { case: "toolChoiceMode", value: ToolChoiceMode.REQUIRED },
        parallelToolCalls: false,
        ...chat,
      },
    },
    maxTokens: 200,
    sampling: { temperature: 1, seed: BigInt(seed) },
    ...extra,
  });

interface Streamed {
  text: string;
  /** Calls rebuilt from the deltas' pieces. */
  calls: { id: string; name: string; arguments: string }[];
  final: GenerateFinal;
}

async function stream(request: GenerateRequest): Promise<Streamed> {
  const out: Omit<Streamed, "final"> & { final?: GenerateFinal } = { text: "", calls: [] };
  for await (const { event } of client.generate(request) as AsyncIterable<GenerateResponse>) {
    if (event.case === "final") out.final = event.value;
    if (event.case !== "delta") continue;
    out.text += event.value.text;
    for (const piece of event.value.toolCalls) {
      if (piece.id !== "") {
        expect(piece.index).toBe(out.calls.length); // a call is named before its arguments, in index order
        out.calls.push({ id: piece.id, name: piece.name, arguments: piece.arguments });
      } else {
        out.calls[piece.index].arguments += piece.arguments;
      }
    }
  }
  expect(out.final).toBeDefined();
  return out as Streamed;
}

const plain = (calls: readonly { id: string; name: string; arguments: string }[]) =>
  calls.map(({ id, name, arguments: args }) => ({ id, name, arguments: args }));

describe("tool calls over gRPC", () => {
  it("required: unary answers carry one valid call each, FINISH_REASON_TOOL_CALLS, no markup in the text", async () => {
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, seed) => client.generateUnary({ request: ask(seed) })),
    );
    for (const answer of answers) {
      expect(answer.finishReason).toBe(FinishReason.TOOL_CALLS);
      expect(answer.toolCalls).toHaveLength(1); // parallel_tool_calls false
      expectValidCalls(answer.toolCalls);
      expect(answer.toolCalls[0].id).toMatch(/^call_[0-9a-f]{24}$/);
      expect(answer.text).not.toContain("<tool_call>");
    }
  }, 120_000);

  it("streamed: the pieces reassemble into the final's calls, and into the unary answer's for the same request", async () => {
    for (const seed of [11, 12, 13]) {
      const request = ask(seed, { parallelToolCalls: true }, { maxTokens: 400, requestId: `tools-${seed}` });
      const streamed = await stream(request);
      expect(streamed.final.finishReason).toBe(FinishReason.TOOL_CALLS);
      expect(streamed.calls).toEqual(plain(streamed.final.toolCalls));
      expectValidCalls(streamed.calls);
      const unary = await client.generateUnary({ request });
      expect(plain(unary.toolCalls)).toEqual(streamed.calls); // same seed and request id: same calls, same ids
      expect(unary.text).toBe(streamed.text);
    }
  }, 120_000);

  it("a named function is the one called; none parses nothing", async () => {
    const named = await client.generateUnary({
      request: ask(14, { toolChoice: { case: "toolChoiceFunction", value: "get_time" } }),
    });
    expectValidCalls(named.toolCalls, ["get_time"]);
    const none = await client.generateUnary({
      request: ask(15, { toolChoice: { case: "toolChoiceMode", value: ToolChoiceMode.NONE } }, { maxTokens: 16 }),
    });
    expect(none.toolCalls).toEqual([]);
    expect(none.finishReason).not.toBe(FinishReason.TOOL_CALLS);
  }, 60_000);

  it("earlier tool turns are accepted: an assistant's calls, then the tool's result naming the call", async () => {
    const messages = [
      { role: "user", content: "Weather in Paris?" },
      {
        role: "assistant",
        content: "",
        toolCalls: [{ id: "call_1", name: "get_weather", arguments: '{"city": "Paris", "unit": "c"}' }],
      },
      { role: "tool", content: '{"temperature": 21}', toolCallId: "call_1" },
    ];
    const answer = await client.generateUnary({ request: ask(16, { messages }) });
    expectValidCalls(answer.toolCalls);
  }, 60_000);
});

describe("refusals over gRPC", () => {
  const refusal = async (request: GenerateRequest) => {
    const err = await llmFailure(client.generateUnary({ request }));
    expect(err.code).toBe("invalid_argument");
    return err.message;
  };

  it("unknown named function, tools_json not JSON, a choice without tools, tools with another constraint", async () => {
    expect(await refusal(ask(1, { toolChoice: { case: "toolChoiceFunction", value: "get_stock" } }))).toMatch(
      /prompt\.chat\.tool_choice names function "get_stock", which is not in tools \(declared: get_weather, get_time\)/,
    );
    expect(await refusal(ask(1, { toolsJson: "[{" }))).toMatch(/prompt\.chat\.tools_json is not valid JSON/);
    expect(await refusal(ask(1, { toolsJson: "" }))).toMatch(/prompt\.chat\.tool_choice needs tools/);
    const auto = { case: "toolChoiceMode", value: ToolChoiceMode.AUTO } as const;
    expect(await refusal(ask(1, { toolsJson: "", toolChoice: auto }))).toMatch(/tool_choice needs tools/);
    // Tool definitions count toward the prompt's size limit (LLM_MAX_INPUT_BYTES, 1 MiB here).
    const huge = [{ type: "function", function: { name: "f", description: "x".repeat(1_100_000) } }];
    expect(await refusal(ask(1, { toolsJson: JSON.stringify(huge) }))).toMatch(/bytes of UTF-8; at most 1048576/);
    const constrained = ask(1, {}, { sampling: { constraint: { case: "regex", value: "a+" } } });
    expect(await refusal(constrained)).toMatch(/tool calls .* cannot be combined with another constraint/);
  });

  it("malformed tool turns: a result naming no earlier call, arguments that are not a JSON object", async () => {
    const orphan = [
      { role: "user", content: "hi" },
      { role: "tool", content: "42", toolCallId: "call_9" },
    ];
    expect(await refusal(ask(1, { messages: orphan }))).toMatch(
      /prompt\.chat\.messages\[1\]\.tool_call_id is "call_9", which no earlier assistant message's tool_calls has/,
    );
    const badArguments = [
      { role: "user", content: "hi" },
      { role: "assistant", content: "", toolCalls: [{ id: "c", name: "get_time", arguments: "[1]" }] },
    ];
    expect(await refusal(ask(1, { messages: badArguments }))).toMatch(
      /prompt\.chat\.messages\[1\]\.tool_calls\[0\]\.arguments must be a JSON object/,
    );
  });
});
