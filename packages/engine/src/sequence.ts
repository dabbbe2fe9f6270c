// One request's life inside the engine: its progress through the prompt, its KV while it prefills
// (the decode batch owns it afterwards), its output stream and its timestamps.
import type { LlmError } from "@llm/errors";
import type { BatchRow } from "./decode-batch.js";
import type { EventStream } from "./event-stream.js";
import type { KvState } from "./kv-state.js";
import type { SampledToken } from "./sampler.js";
import type { SpeculationState } from "./speculation/state.js";
import type { FinishReason, GenerateRequest, GenerationEvent, TokenEvent } from "./types.js";

export type SequenceState = "waiting" | "prefill" | "decode" | "done";

export class Sequence<P> implements BatchRow {
  state: SequenceState = "waiting";
  /** Positions whose K/V are computed (cached prefix + prefilled + decoded). */
  kvLength = 0;
  /** Single-row KV while prefilling; undefined once the decode batch holds it. */
  kv: KvState | undefined;
  /** Output tokens so far, those delivered before this engine took the request over included. */
  generated: number;
  cachedPromptTokens = 0;
  /** Chained prefix-cache keys of the prompt's full blocks. */
  blockKeys: string[] = [];
  cancelRequested = false;
  samplerOpen = false;
  /** Prompt, delivered output and the tokens sampled since (the last one is pending while decoding). */
  readonly tokens: number[];
  /** Whether and how this sequence speculates (set when its sampler opens). */
  speculation: SpeculationState | undefined;
  readonly submittedAt = performance.now();
  admittedAt = 0;
  prefilledAt = 0;
  lastTokenAt = 0;

  constructor(
    readonly request: GenerateRequest<P>,
    readonly stream: EventStream<GenerationEvent>,
    /** KV bytes reserved for the whole request (prompt + max tokens). */
    readonly kvReservation: number,
  ) {
    this.generated = this.delivered;
    this.tokens = [...this.inputIds];
  }

  /** While decoding: the last sampled token, whose K/V the next decode step computes. */
  get pendingToken(): number {
    return this.tokens[this.tokens.length - 1];
  }

  /** In the decode batch (see BatchRow). */
  get live(): boolean {
    return this.state === "decode";
  }

  get id(): string {
    return this.request.requestId;
  }

  get promptLength(): number {
    return this.request.promptIds.length;
  }

  /** Prompt tokens served from the prefix cache (a taken-over request's cached input may reach into its output). */
  get cachedPromptTokensReported(): number {
    return Math.min(this.cachedPromptTokens, this.promptLength);
  }

  /** Output tokens generated before this engine took the request over. */
  get delivered(): number {
    return this.request.outputIds?.length ?? 0;
  }

  /** What the model is fed before its first new token: the prompt, then any delivered output. */
  get inputIds(): readonly number[] {
    const output = this.request.outputIds ?? [];
    return output.length === 0 ? this.request.promptIds : [...this.request.promptIds, ...output];
  }

  /** Pushes a sampled token to the stream (returned) as this sequence's next output token. */
  emit(sampled: SampledToken, stepMs: number): TokenEvent {
    const now = performance.now();
    const first = this.generated === this.delivered; // this engine's first token of the request
    const token: TokenEvent = {
      type: "token",
      index: this.generated,
      tokenId: sampled.tokenId,
      logprob: sampled.logprob,
      topLogprobs: sampled.topLogprobs,
      timing: {
        stepMs,
        sincePreviousMs: now - (first ? this.submittedAt : this.lastTokenAt),
        sinceStartMs: now - this.submittedAt,
        ...(first
          ? { queueMs: this.admittedAt - this.submittedAt, prefillMs: this.prefilledAt - this.admittedAt }
          : {}),
      },
      ...(first ? { cachedPromptTokens: this.cachedPromptTokensReported } : {}),
    };
    this.stream.push(token);
    this.generated++;
    this.lastTokenAt = now;
    this.tokens.push(sampled.tokenId);
    return token;
  }

  /** Pushes the final event (usage, and the error when `reason` is "error") and ends the stream. */
  end(reason: FinishReason, error?: LlmError): void {
    this.stream.push({
      type: "final",
      finishReason: reason,
      usage: {
        promptTokens: this.promptLength,
        completionTokens: this.generated,
        cachedPromptTokens: this.cachedPromptTokensReported,
        ...(this.speculation && {
          proposedTokens: this.speculation.proposedTokens,
          acceptedTokens: this.speculation.acceptedTokens,
        }),
      },
      ...(error ? { error } : {}),
    });
    this.stream.end();
  }
}
