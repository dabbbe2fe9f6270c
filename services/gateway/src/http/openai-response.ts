// Our generation events in OpenAI's shapes: whole responses, stream chunks, usage, finish reasons and logprobs.
import { FinishReason } from "@llm/proto";
import type { WholeText } from "../generation.js";
import type { GenerationDelta, GenerationFinal } from "../generation-events.js";
import type { ToolCallPiece, WholeToolCall } from "../tools/tool-call-parser.js";
import type { Endpoint } from "./openai-request.js";

export interface OpenAiUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
  /** Speculating requests: OpenAI's Predicted Outputs fields, for our proposals (accepted and rolled back). */
  completion_tokens_details?: { accepted_prediction_tokens: number; rejected_prediction_tokens: number };
}

const FINISH_REASONS: Record<FinishReason, string> = {
  [FinishReason.STOP]: "stop",
  [FinishReason.EOS]: "stop",
  [FinishReason.LENGTH]: "length",
  [FinishReason.CANCELLED]: "cancelled", // a gRPC Cancel naming this request's id (X-Request-Id)
  [FinishReason.ERROR]: "error",
  [FinishReason.TOOL_CALLS]: "tool_calls",
  [FinishReason.UNSPECIFIED]: "stop",
};

export function usageOf({ usage }: GenerationFinal): OpenAiUsage {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.promptTokens + usage.completionTokens,
    prompt_tokens_details: { cached_tokens: usage.cachedPromptTokens },
    ...(usage.proposedTokens > 0 && {
      completion_tokens_details: {
        accepted_prediction_tokens: usage.acceptedTokens,
        rejected_prediction_tokens: usage.proposedTokens - usage.acceptedTokens,
      },
    }),
  };
}

/** Builds one request's response objects; keeps the running text offset that completion logprobs report. */
export class OpenAiShaper {
  private readonly created = Math.floor(Date.now() / 1000);
  private textOffset = 0;

  constructor(
    private readonly endpoint: Endpoint,
    readonly id: string,
    private readonly model: string,
    /** stream_options.include_usage: OpenAI then sends `usage: null` on every chunk before the usage chunk. */
    private readonly includeUsage = false,
  ) {}

  /** The non-streamed answer. */
  whole(result: WholeText & GenerationFinal): object {
    const logprobs = this.logprobs(result);
    if (this.endpoint !== "chat") {
      const choice = { index: 0, text: result.text, logprobs, finish_reason: FINISH_REASONS[result.finishReason] };
      return { ...this.head(false), choices: [choice], usage: usageOf(result) };
    }
    const calls = result.toolCalls;
    const content = calls.length > 0 ? result.text.trim() : result.text;
    const message = {
      role: "assistant",
      content: calls.length > 0 && content === "" ? null : content,
      refusal: null,
      ...(calls.length > 0 ? { tool_calls: calls.map(toolCallOf) } : {}),
    };
    const finish_reason = FINISH_REASONS[result.finishReason];
    return { ...this.head(false), choices: [{ index: 0, message, logprobs, finish_reason }], usage: usageOf(result) };
  }

  /** Chat streams open with the assistant's role, as OpenAI's do. */
  roleChunk(): object | undefined {
    if (this.endpoint !== "chat") return undefined;
    return this.chunk({ delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null });
  }

  /**
   * A delta's chunks: its text (and logprobs); then its tool-call pieces as OpenAI streams them: a call's
   * first chunk has its index, id and name, the next ones fragments of its arguments as they were generated.
   */
  deltaChunks(delta: GenerationDelta): object[] {
    const logprobs = this.logprobs(delta);
    if (this.endpoint !== "chat") return [this.chunk({ text: delta.text, logprobs, finish_reason: null })];
    const { text: content, toolCalls } = delta;
    const chunks = content !== "" || logprobs || toolCalls.length === 0 ? [this.contentChunk(content, logprobs)] : [];
    for (const piece of toolCalls) {
      chunks.push(this.chunk({ delta: { tool_calls: [toolCallDeltaOf(piece)] }, logprobs: null, finish_reason: null }));
    }
    return chunks;
  }

  /** The chunk with the finish reason. */
  finishChunks(final: GenerationFinal): object[] {
    const finish_reason = FINISH_REASONS[final.finishReason];
    if (this.endpoint !== "chat") return [this.chunk({ text: "", logprobs: null, finish_reason })];
    return [this.chunk({ delta: {}, logprobs: null, finish_reason })];
  }

  private contentChunk(content: string, logprobs: object | null): object {
    return this.chunk({ delta: { content }, logprobs, finish_reason: null });
  }

  usageChunk(final: GenerationFinal): object {
    return { ...this.head(true), choices: [], usage: usageOf(final) };
  }

  private chunk(choice: object): object {
    const usage = this.includeUsage ? { usage: null } : {};
    return { ...this.head(true), choices: [{ index: 0, ...choice }], ...usage };
  }

  private head(chunk: boolean): object {
    const object = this.endpoint === "chat" ? (chunk ? "chat.completion.chunk" : "chat.completion") : "text_completion";
    return { id: this.id, object, created: this.created, model: this.model };
  }

  /** OpenAI's logprobs object for these tokens (chat and completions differ), or null when none were asked. */
  private logprobs({ logprobs, tokenTexts: texts }: Pick<GenerationDelta, "logprobs" | "tokenTexts">): object | null {
    if (logprobs.length === 0) return null;
    let next = 0;
    const tokens = logprobs.map((entry) => ({
      token: texts[next++] ?? "",
      logprob: entry.logprob ?? 0,
      top: (entry.topLogprobs ?? []).map((alt) => ({ token: texts[next++] ?? "", logprob: alt.logprob ?? 0 })),
    }));
    if (this.endpoint === "chat") {
      const bytes = (token: string) => [...Buffer.from(token, "utf8")];
      return {
        content: tokens.map(({ token, logprob, top }) => ({
          token,
          logprob,
          bytes: bytes(token),
          top_logprobs: top.map((alt) => ({ ...alt, bytes: bytes(alt.token) })),
        })),
        refusal: null,
      };
    }
    // Offsets of each token's text in the completion (a token that splits a UTF-8 character counts as U+FFFD).
    const text_offset = tokens.map(({ token }) => {
      const offset = this.textOffset;
      this.textOffset += token.length;
      return offset;
    });
    return {
      tokens: tokens.map((t) => t.token),
      token_logprobs: tokens.map((t) => t.logprob),
      top_logprobs: tokens.map(({ top }) => Object.fromEntries(top.map((alt) => [alt.token, alt.logprob]))),
      text_offset,
    };
  }
}

function toolCallOf({ id, name, arguments: args }: WholeToolCall): object {
  return { id, type: "function", function: { name, arguments: args } };
}

/** A call's first piece names it (arguments ""); the next ones carry only the index and a fragment. */
function toolCallDeltaOf({ index, id, name, arguments: args }: ToolCallPiece): object {
  if (id !== "") return { index, id, type: "function", function: { name, arguments: args } };
  return { index, function: { arguments: args } };
}
