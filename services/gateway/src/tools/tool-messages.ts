// Earlier turns of a tool conversation: assistant messages with the calls they made, and "tool" messages
// answering them by id. Checked alike for both APIs before the chat template sees them, so a malformed turn is
// a 400 naming it instead of a template rendering something the model never saw.
import type { ChatMessage } from "@llm/proto";
import { shown } from "../shown.js";

type Problem = (field: string, message: string) => void;

/** How the API being checked names a message and a call's arguments, for the problems' messages. */
export interface MessageFieldNames {
  /** e.g. "messages" (HTTP) or "prompt.chat.messages" (gRPC). */
  messages: string;
  /** A call's arguments field under its `tool_calls[j]`: "function.arguments" (HTTP) or "arguments" (gRPC). */
  arguments: string;
}

export function toolMessageProblems(
  messages: readonly ChatMessage[],
  names: MessageFieldNames,
  problem: Problem,
): void {
  const callIds = new Set<string>();
  messages.forEach(({ role, toolCalls, toolCallId }, i) => {
    const field = `${names.messages}[${i}]`;
    if (toolCalls.length > 0 && role !== "assistant") {
      problem(`${field}.tool_calls`, `${field}.tool_calls: only assistant messages carry tool calls (role is ${role})`);
    }
    toolCalls.forEach((call, j) => {
      const at = `${field}.tool_calls[${j}]`;
      if (call.id === "") problem(`${at}.id`, `${at}.id is empty: give the id the call was made with`);
      if (!/^[a-zA-Z0-9_-]{1,64}$/.test(call.name)) {
        problem(`${at}.function.name`, `${at}.function.name must be 1-64 letters, digits, _ or -`);
      }
      const argumentsProblem = jsonObjectProblem(call.arguments);
      if (argumentsProblem) problem(`${at}.${names.arguments}`, `${at}.${names.arguments} ${argumentsProblem}`);
      callIds.add(call.id);
    });
    if (role !== "tool") {
      if (toolCallId !== "") {
        problem(`${field}.tool_call_id`, `${field}.tool_call_id: only "tool" messages answer a call (role is ${role})`);
      }
      return;
    }
    if (toolCallId === "") {
      problem(`${field}.tool_call_id`, `${field} has role "tool" but no tool_call_id: name the call it answers`);
    } else if (!callIds.has(toolCallId)) {
      problem(
        `${field}.tool_call_id`,
        `${field}.tool_call_id is ${shown(toolCallId)}, which no earlier assistant message's tool_calls has`,
      );
    }
  });
}

function jsonObjectProblem(text: string): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return `is not valid JSON: ${(err as Error).message}`;
  }
  return typeof value === "object" && value !== null && !Array.isArray(value) ? undefined : "must be a JSON object";
}
