// Finds Hermes/Qwen-style tool calls, `<tool_call>{"name": …, "arguments": {…}}</tool_call>`, in generated text
// as it streams: text outside calls is passed on at once (holding back only what could be the start of a
// call marker), each call once its closing marker arrived. A block that is not a valid call stays text.
import { randomUUID } from "node:crypto";
import { TOOL_CALL_BEGIN, TOOL_CALL_END } from "./openai-tools.js";

export interface ParsedToolCall {
  id: string;
  name: string;
  /** The arguments as compact JSON text (OpenAI's `function.arguments`). */
  arguments: string;
}

export interface ParsedPiece {
  content: string;
  calls: ParsedToolCall[];
}

export class ToolCallParser {
  private pending = "";
  private inCall = false;
  /** Calls found so far, in order (their position is their `index` in stream deltas). */
  readonly calls: ParsedToolCall[] = [];

  push(text: string): ParsedPiece {
    this.pending += text;
    const piece: ParsedPiece = { content: "", calls: [] };
    for (;;) {
      if (!this.inCall) {
        const begin = this.pending.indexOf(TOOL_CALL_BEGIN);
        if (begin < 0) {
          const keep = heldBack(this.pending);
          piece.content += this.pending.slice(0, this.pending.length - keep);
          this.pending = this.pending.slice(this.pending.length - keep);
          return piece;
        }
        piece.content += this.pending.slice(0, begin);
        this.pending = this.pending.slice(begin);
        this.inCall = true;
      }
      const end = this.pending.indexOf(TOOL_CALL_END);
      if (end < 0) return piece;
      const block = this.pending.slice(0, end + TOOL_CALL_END.length);
      this.pending = this.pending.slice(block.length).replace(/^\n/, "");
      this.inCall = false;
      const call = callOf(block.slice(TOOL_CALL_BEGIN.length, -TOOL_CALL_END.length));
      if (call) {
        this.calls.push(call);
        piece.calls.push(call);
      } else {
        piece.content += block;
      }
    }
  }

  /** What is left at the end: an unfinished call or held-back text, as text. */
  finish(): ParsedPiece {
    const content = this.pending;
    this.pending = "";
    return { content, calls: [] };
  }
}

/** The whole text's calls and the text around them. */
export function parseToolCalls(text: string): ParsedPiece {
  const parser = new ToolCallParser();
  const piece = parser.push(text);
  return { content: (piece.content + parser.finish().content).trim(), calls: piece.calls };
}

function callOf(body: string): ParsedToolCall | undefined {
  try {
    const { name, arguments: args } = JSON.parse(body) as { name?: unknown; arguments?: unknown };
    if (typeof name !== "string" || typeof args !== "object" || args === null) return undefined;
    return { id: `call_${randomUUID().replaceAll("-", "").slice(0, 24)}`, name, arguments: JSON.stringify(args) };
  } catch {
    return undefined;
  }
}

/** Length of the longest suffix of `text` that begins the call marker (it may complete in the next piece). */
function heldBack(text: string): number {
  for (let n = Math.min(TOOL_CALL_BEGIN.length - 1, text.length); n > 0; n--) {
    if (TOOL_CALL_BEGIN.startsWith(text.slice(text.length - n))) return n;
  }
  return 0;
}
