// Our generation events in OpenAI's shapes: whole responses, stream chunks, usage, finish reasons and logprobs.
import { FinishReason } from "@llm/proto";
import type { GenerationDelta, GenerationFinal } from "../generation-events.js";
import type { Endpoint } from "./openai-request.js";

export interface OpenAiUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
}

const FINISH_REASONS: Record<FinishReason, string> = {
  [FinishReason.STOP]: "stop",
  [FinishReason.EOS]: "stop",
  [FinishReason.LENGTH]: "length",
  [FinishReason.CANCELLED]: "cancelled", // a gRPC Cancel naming this request's id (X-Request-Id)
  [FinishReason.ERROR]: "error",
  [FinishReason.UNSPECIFIED]: "stop",
};

export function usageOf({ usage }: GenerationFinal): OpenAiUsage {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.promptTokens + usage.completionTokens,
    prompt_tokens_details: { cached_tokens: usage.cachedPromptTokens },
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
  whole(result: GenerationDelta & GenerationFinal): object {
    const logprobs = this.logprobs(result);
    const finish_reason = FINISH_REASONS[result.finishReason];
    const choice =
      this.endpoint === "chat"
        ? { index: 0, message: { role: "assistant", content: result.text, refusal: null }, logprobs, finish_reason }
        : { index: 0, text: result.text, logprobs, finish_reason };
    return { ...this.head(false), choices: [choice], usage: usageOf(result) };
  }

  /** Chat streams open with the assistant's role, as OpenAI's do. */
  roleChunk(): object | undefined {
    if (this.endpoint !== "chat") return undefined;
    return this.chunk({ delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null });
  }

  deltaChunk(delta: GenerationDelta): object {
    const logprobs = this.logprobs(delta);
    const text = this.endpoint === "chat" ? { delta: { content: delta.text } } : { text: delta.text };
    return this.chunk({ ...text, logprobs, finish_reason: null });
  }

  finishChunk(final: GenerationFinal): object {
    const empty = this.endpoint === "chat" ? { delta: {} } : { text: "" };
    return this.chunk({ ...empty, logprobs: null, finish_reason: FINISH_REASONS[final.finishReason] });
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
