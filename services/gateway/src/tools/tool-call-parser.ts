// Finds tool calls in generated text as it streams, in the model family's syntax (tool-syntax.ts). Text outside
// calls passes at once (holding back only what could begin a call's trigger); a call is announced (index, id,
// name) as soon as its name is complete, then its arguments follow fragment by fragment as they are generated,
// as OpenAI streams them. Text that starts like a call but does not take its shape stays text.
import { createHash } from "node:crypto";
import type { CallSyntax } from "./tool-syntax.js";

/** A piece of a call: the first names it (id, name); the next ones add `arguments` text. */
export interface ToolCallPiece {
  index: number;
  id: string;
  name: string;
  arguments: string;
}

export interface WholeToolCall {
  id: string;
  name: string;
  /** The arguments' JSON text, as generated. */
  arguments: string;
}

export interface ParsedText {
  content: string;
  calls: ToolCallPiece[];
}

/** The opening of a call is given up on (and stays text) past this many characters without matching. */
const MAX_HEAD_CHARS = 256;

type State = "text" | "head" | "arguments" | "tail" | "between";

export class ToolCallParser {
  private pending = "";
  private state: State = "text";
  private readonly value = new JsonValueEnd();
  /** Calls found so far, whole as far as generated, in index order. */
  readonly calls: WholeToolCall[] = [];

  constructor(
    private readonly syntax: CallSyntax,
    /** Call ids derive from it, so a resumed stream names its calls as the first attempt did. */
    private readonly requestId: string,
  ) {}

  push(text: string): ParsedText {
    this.pending += text;
    const out: ParsedText = { content: "", calls: [] };
    while (this.step(out));
    return out;
  }

  /** The end of the output: a call's opening that never completed, or held-back text, is text. */
  finish(): ParsedText {
    const content = this.state === "text" || this.state === "head" ? this.pending : "";
    this.pending = "";
    this.state = "text";
    return { content, calls: [] };
  }

  /** Parses what it can of `pending` into `out`; true while there is more to parse now. */
  private step(out: ParsedText): boolean {
    const { syntax } = this;
    switch (this.state) {
      case "text": {
        const at = this.pending.indexOf(syntax.trigger);
        const cut = at >= 0 ? at : this.pending.length - heldBack(this.pending, syntax.trigger);
        out.content += this.pending.slice(0, cut);
        this.pending = this.pending.slice(cut);
        if (at < 0) return false;
        this.state = "head";
        return true;
      }
      case "head": {
        const head = syntax.head.exec(this.pending);
        const name = head ? nameOf(head[1]) : undefined;
        if (head && name !== undefined) {
          const call = { id: this.callId(this.calls.length), name, arguments: "" };
          out.calls.push({ index: this.calls.length, ...call });
          this.calls.push(call);
          this.pending = this.pending.slice(head[0].length);
          this.value.reset();
          this.state = "arguments";
          return true;
        }
        const hopeless = head !== null || this.pending.length > MAX_HEAD_CHARS || this.pending.includes(syntax.end, 1);
        if (!hopeless) return false;
        // Not a call after all: the trigger is text, and scanning resumes after it.
        out.content += syntax.trigger;
        this.pending = this.pending.slice(syntax.trigger.length);
        this.state = "text";
        return true;
      }
      case "arguments": {
        if (!this.value.started) this.pending = this.pending.trimStart(); // no call's arguments start with blanks
        const taken = this.value.feed(this.pending);
        const fragment = this.pending.slice(0, taken);
        this.pending = this.pending.slice(taken);
        if (fragment !== "") {
          const index = this.calls.length - 1;
          this.calls[index].arguments += fragment;
          out.calls.push({ index, id: "", name: "", arguments: fragment });
        }
        if (!this.value.done) return false;
        this.state = "tail";
        return true;
      }
      case "tail": {
        const at = this.pending.indexOf(syntax.end);
        if (at < 0) return false;
        this.pending = this.pending.slice(at + syntax.end.length);
        this.state = "between";
        return true;
      }
      case "between": {
        // The separator after a call is dropped; while all that arrived could still be one, wait for more.
        const separator = syntax.separator.exec(this.pending);
        if (this.pending === "" || separator?.[0].length === this.pending.length) return false;
        this.pending = this.pending.slice(separator?.[0].length ?? 0);
        this.state = "text";
        return true;
      }
    }
  }

  private callId(index: number): string {
    const digest = createHash("sha256").update(`${this.requestId}\n${index}`).digest("hex");
    return `call_${digest.slice(0, 24)}`;
  }
}

/** The whole text's calls and the text around them (trimmed). */
export function parseToolCalls(
  text: string,
  syntax: CallSyntax,
  requestId: string,
): {
  content: string;
  calls: WholeToolCall[];
} {
  const parser = new ToolCallParser(syntax, requestId);
  const content = parser.push(text).content + parser.finish().content;
  return { content: content.trim(), calls: parser.calls };
}

function nameOf(json: string): string | undefined {
  try {
    const name = JSON.parse(json) as string;
    return name === "" ? undefined : name;
  } catch {
    return undefined;
  }
}

/** Length of the longest suffix of `text` that begins `marker` (it may complete in the next piece). */
function heldBack(text: string, marker: string): number {
  for (let n = Math.min(marker.length - 1, text.length); n > 0; n--) {
    if (marker.startsWith(text.slice(text.length - n))) return n;
  }
  return 0;
}

/**
 * Where one JSON value ends in text that arrives piece by piece: objects and arrays by their nesting depth
 * (outside strings), a string at its closing quote, a number or literal before the next delimiter. Leading
 * whitespace belongs to no value and is skipped.
 */
class JsonValueEnd {
  private depth = 0;
  private inString = false;
  private escaped = false;
  private kind: "none" | "nested" | "string" | "bare" = "none";
  done = false;

  get started(): boolean {
    return this.kind !== "none";
  }

  reset(): void {
    this.depth = 0;
    this.inString = false;
    this.escaped = false;
    this.kind = "none";
    this.done = false;
  }

  /** How many characters of `text` belong to the value (with any whitespace before it). */
  feed(text: string): number {
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (this.kind === "none") {
        if (/\s/.test(c)) continue;
        this.kind = c === "{" || c === "[" ? "nested" : c === '"' ? "string" : "bare";
        if (this.kind === "string") this.inString = true;
        if (this.kind === "nested") this.depth = 1;
        continue;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === "\\") this.escaped = true;
        else if (c === '"') {
          this.inString = false;
          if (this.kind === "string") return this.end(i + 1);
        }
        continue;
      }
      if (this.kind === "bare") {
        if (/[\s,}\]]/.test(c)) return this.end(i);
        continue;
      }
      if (c === '"') this.inString = true;
      else if (c === "{" || c === "[") this.depth++;
      else if ((c === "}" || c === "]") && --this.depth === 0) return this.end(i + 1);
    }
    return text.length;
  }

  private end(taken: number): number {
    this.done = true;
    return taken;
  }
}
