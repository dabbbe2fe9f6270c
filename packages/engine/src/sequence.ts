// One request's life inside the engine: its progress through the prompt, its KV while it prefills
// (the decode batch owns it afterwards), its output stream and its timestamps.
import type { EventStream } from "./event-stream.js";
import type { KvState } from "./kv-state.js";
import type { GenerateRequest, GenerationEvent } from "./types.js";

export type SequenceState = "waiting" | "prefill" | "decode" | "done";

export class Sequence<P> {
  state: SequenceState = "waiting";
  /** Positions whose K/V are computed (cached prefix + prefilled + decoded). */
  kvLength = 0;
  /** Single-row KV while prefilling; undefined once the decode batch holds it. */
  kv: KvState | undefined;
  /** The last sampled token: its K/V are computed by the next decode step. */
  pendingToken = -1;
  /** Output tokens so far, those delivered before this engine took the request over included. */
  generated: number;
  cachedPromptTokens = 0;
  /** Chained prefix-cache keys of the prompt's full blocks. */
  blockKeys: string[] = [];
  cancelRequested = false;
  samplerOpen = false;
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
}
