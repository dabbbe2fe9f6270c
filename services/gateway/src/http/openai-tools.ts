// OpenAI's tool fields on /v1/chat/completions as ChatPrompt's: `tools`, `tool_choice` and
// `parallel_tool_calls`, and the tool turns of earlier messages (an assistant's `tool_calls`, a "tool"
// message's `tool_call_id`). They are checked here with the body's field names; the gateway's generation
// builds the constraint and parses the calls for both APIs.
import type { ChatMessage, ChatPrompt, MessageInitShape, ToolCallSchema } from "@llm/proto";
import { shown } from "../shown.js";
import { chatToolChoiceOf, type ToolChoice, toolUseOf } from "../tools/tool-choice.js";

type Problem = (field: string, message: string) => void;

export type ChatToolFields = Pick<ChatPrompt, "toolsJson" | "toolChoice" | "parallelToolCalls">;

export function chatToolFields(body: Record<string, unknown>, problem: Problem): ChatToolFields {
  const none: ChatToolFields = { toolsJson: "", toolChoice: { case: undefined }, parallelToolCalls: undefined };
  const given = body.tool_choice === undefined || body.tool_choice === null ? undefined : body.tool_choice;
  const choice = given === undefined ? undefined : toolChoiceOf(given, problem);
  const parallel = body.parallel_tool_calls ?? true;
  if (typeof parallel !== "boolean") problem("parallel_tool_calls", "parallel_tool_calls must be true or false");
  if ((given !== undefined && choice === undefined) || typeof parallel !== "boolean") return none;
  const use = toolUseOf(body.tools, choice, parallel, { tools: "tools", toolChoice: "tool_choice" }, problem);
  if (use === undefined) return none;
  const toolChoice = choice === undefined ? none.toolChoice : chatToolChoiceOf(choice);
  return { toolsJson: JSON.stringify(body.tools), toolChoice, parallelToolCalls: parallel };
}

function toolChoiceOf(choice: unknown, problem: Problem): ToolChoice | undefined {
  if (choice === "auto" || choice === "none" || choice === "required") return choice;
  const named = (choice as { type?: unknown; function?: { name?: unknown } } | null)?.function?.name;
  if (typeof named === "string") return { name: named };
  problem(
    "tool_choice",
    `tool_choice must be "auto", "none", "required" or {"type": "function", "function": {"name"}}`,
  );
  return undefined;
}

type ToolCallInit = MessageInitShape<typeof ToolCallSchema>;

/** A message's `tool_calls` and `tool_call_id` (OpenAI shapes); their meaning is checked by toolMessageProblems. */
export function messageToolFields(
  message: Record<string, unknown>,
  i: number,
  problem: Problem,
): Pick<ChatMessage, "toolCallId"> & { toolCalls: ToolCallInit[] } {
  const field = `messages[${i}]`;
  const { tool_calls: calls, tool_call_id: id } = message;
  if (id !== undefined && id !== null && typeof id !== "string") {
    problem(`${field}.tool_call_id`, `${field}.tool_call_id must be a string, got ${shown(id)}`);
  }
  const toolCallId = typeof id === "string" ? id : "";
  if (calls === undefined || calls === null) return { toolCalls: [], toolCallId };
  if (!Array.isArray(calls)) {
    problem(`${field}.tool_calls`, `${field}.tool_calls must be a list of calls, got ${shown(calls)}`);
    return { toolCalls: [], toolCallId };
  }
  const toolCalls = calls.map((call: unknown, j): ToolCallInit => {
    const { id: callId, type, function: fn } = (call ?? {}) as { id?: unknown; type?: unknown; function?: unknown };
    const { name, arguments: args } = (fn ?? {}) as { name?: unknown; arguments?: unknown };
    if (type !== "function" || typeof callId !== "string" || typeof name !== "string" || typeof args !== "string") {
      problem(
        `${field}.tool_calls[${j}]`,
        `${field}.tool_calls[${j}] must be {"id": string, "type": "function", "function": {"name": string, "arguments": string}}`,
      );
      return {};
    }
    return { id: callId, name, arguments: args };
  });
  return { toolCalls, toolCallId };
}
