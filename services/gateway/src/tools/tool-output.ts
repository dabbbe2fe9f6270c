// A generation's text as its client sees it: with tools in play (chat, tool_choice not `none`), the model's
// calls are taken out of the text and given as calls instead, and an answer that called tools ends with
// FINISH_REASON_TOOL_CALLS. Without tools, the text passes unchanged.
import { FinishReason, type GenerateRequest, type ToolCallSyntax } from "@llm/proto";
import { type ParsedText, ToolCallParser, type WholeToolCall } from "./tool-call-parser.js";
import { chatToolUse } from "./tool-choice.js";
import { callSyntax } from "./tool-syntax.js";

export class OutputText {
  private readonly parser: ToolCallParser | undefined;

  /** `syntax`: how the model's chat template writes calls (the tokenizer reads it from the template). */
  constructor(request: GenerateRequest, syntax: ToolCallSyntax) {
    this.parser = parsesToolCalls(request) ? new ToolCallParser(callSyntax(syntax), request.requestId) : undefined;
  }

  push(text: string): ParsedText {
    return this.parser ? this.parser.push(text) : { content: text, calls: [] };
  }

  /** What was held back, at the end of the output. */
  finish(): ParsedText {
    return this.parser ? this.parser.finish() : { content: "", calls: [] };
  }

  get calls(): WholeToolCall[] {
    return this.parser?.calls ?? [];
  }

  /** OpenAI's "tool_calls" when the model ended its answer (EOS or a stop sequence) after calling tools. */
  finishReason(reason: FinishReason): FinishReason {
    const ended = reason === FinishReason.STOP || reason === FinishReason.EOS;
    return ended && this.calls.length > 0 ? FinishReason.TOOL_CALLS : reason;
  }
}

/** A chat request whose output holds tool calls to parse. */
export function parsesToolCalls({ prompt }: GenerateRequest): boolean {
  if (prompt.case !== "chat") return false;
  const use = chatToolUse(prompt.value, () => {});
  return use !== undefined && use.choice !== "none";
}
