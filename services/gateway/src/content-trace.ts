// Prompt and completion text on the gateway's request span, only when LLM_TRACE_CONTENT=true: prompts are often
// private, so by default traces carry token counts and timings, never text. GenAI convention attributes
// (gen_ai.input.messages / gen_ai.output.messages, JSON), each cut at a bound so a long prompt cannot bloat the
// span past what collectors accept.
import type { GenerateRequest } from "@llm/proto";
import { GEN_AI } from "@llm/telemetry";
import { type Span, trace } from "@opentelemetry/api";

/** Characters kept of each recorded text: enough to read a request, small next to a collector's span limits. */
export const TRACE_CONTENT_MAX_CHARS = 16_384;

export interface ContentTrace {
  /** A piece of the completion as the client receives it. */
  completion(text: string): void;
  /** Writes the completion with its finish reason (lowercase, e.g. "length"). */
  finish(finishReason: string): void;
}

const OFF: ContentTrace = { completion: () => {}, finish: () => {} };

/** Records `request`'s prompt on `span` (by default the active one: the gRPC or HTTP request span) now, its completion at the end. */
export function traceContent(
  enabled: boolean,
  request: GenerateRequest,
  span: Span | undefined = trace.getActiveSpan(),
): ContentTrace {
  if (!enabled || !span?.isRecording()) return OFF;
  const { prompt } = request;
  const messages =
    prompt.case === "chat"
      ? prompt.value.messages.map(({ role, content }) => message(role, content))
      : [message("user", prompt.case === "tokenIds" ? JSON.stringify(prompt.value.ids) : (prompt.value ?? ""))];
  span.setAttribute(GEN_AI.inputMessages, JSON.stringify(messages));
  let text = "";
  return {
    completion(piece) {
      if (text.length < TRACE_CONTENT_MAX_CHARS) text += piece;
    },
    finish(finishReason) {
      const output = { ...message("assistant", text), finish_reason: finishReason };
      span.setAttribute(GEN_AI.outputMessages, JSON.stringify([output]));
    },
  };
}

function message(role: string, content: string) {
  const cut = content.length > TRACE_CONTENT_MAX_CHARS ? `${content.slice(0, TRACE_CONTENT_MAX_CHARS)}…` : content;
  return { role, parts: [{ type: "text", content: cut }] };
}
