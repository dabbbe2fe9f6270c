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
  generated = 0;
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
  ) {}

  get id(): string {
    return this.request.requestId;
  }

  get promptLength(): number {
    return this.request.promptIds.length;
  }
}
