// How a model family writes tool calls, as its chat template teaches it: Hermes/Qwen wrap each call in
// `<tool_call>` tags; Llama 3.1+ answer with bare `{"name": …, "parameters": {…}}` objects. The parser finds
// calls by these shapes, and the structural tag that constrains calls writes exactly them.
import { ToolCallSyntax } from "@llm/proto";

export interface CallSyntax {
  /** Text that starts a call in the output (the structural tag's trigger: a prefix of every call). */
  trigger: string;
  /** A call's opening, from the trigger up to its arguments' first character; group 1 is the name as JSON. */
  head: RegExp;
  /** The call's last text after its arguments; what lies between them is dropped. */
  end: string;
  /** Dropped after a call: what separates it from the next. */
  separator: RegExp;
  /** A call to `name` up to its arguments, as the constraint writes it. */
  begin(name: string): string;
  /** A call after its arguments, as the constraint writes it. */
  close: string;
  /** Between two calls, as the constraint writes it. */
  between: string;
}

const NAME = String.raw`("(?:[^"\\]|\\.)*")`;

const HERMES: CallSyntax = {
  trigger: "<tool_call>",
  head: new RegExp(String.raw`^<tool_call>\s*\{\s*"name"\s*:\s*${NAME}\s*,\s*"arguments"\s*:\s*`),
  end: "</tool_call>",
  separator: /^\n/,
  begin: (name) => `<tool_call>\n{"name": ${JSON.stringify(name)}, "arguments": `,
  close: "}\n</tool_call>",
  between: "\n",
};

// Llama 3.1's template asks for `{"name": function name, "parameters": dictionary of argument name and its
// value}`; several calls are separated by `;` (as vLLM's llama3_json parser reads them).
const LLAMA3_JSON: CallSyntax = {
  trigger: '{"name"',
  head: new RegExp(String.raw`^\{"name"\s*:\s*${NAME}\s*,\s*"parameters"\s*:\s*`),
  end: "}",
  separator: /^\s*;\s*/,
  begin: (name) => `{"name": ${JSON.stringify(name)}, "parameters": `,
  close: "}",
  between: "; ",
};

export function callSyntax(syntax: ToolCallSyntax): CallSyntax {
  return syntax === ToolCallSyntax.LLAMA3_JSON ? LLAMA3_JSON : HERMES;
}
