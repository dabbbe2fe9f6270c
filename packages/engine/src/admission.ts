// The engine's admission side: which requests it holds, which wait, and the KV bytes the admitted ones reserve
// (prompt + max tokens each, for their whole life), with the checks that refuse a request it can never serve.
// The step loop (engine.ts) asks it which waiting requests may start and tells it when one ends.
import { LlmError } from "@llm/errors";
import type { Sequence } from "./sequence.js";
import type { GenerateRequest } from "./types.js";

export interface AdmissionLimits {
  maxBatchSize: number;
  kvCacheBytes: number;
  /** KV bytes one token takes in every layer. */
  bytesPerToken: number;
  vocabSize: number;
  contextLength: number;
}

export class Admission<P> {
  /** Every request not yet finished, by id (waiting ones included). */
  readonly active = new Map<string, Sequence<P>>();
  /** Requests not started yet, in arrival order. */
  readonly waiting: Sequence<P>[] = [];
  private kvReserved = 0;

  constructor(private readonly limits: AdmissionLimits) {}

  /** KV bytes a request reserves while it runs. */
  reservation(promptTokens: number, maxTokens: number): number {
    return (promptTokens + maxTokens) * this.limits.bytesPerToken;
  }

  get kvBytesUsed(): number {
    return this.kvReserved;
  }

  get running(): number {
    return this.active.size - this.waiting.length;
  }

  /** Throws LlmError(invalid_argument) naming what makes `request` impossible to serve here. */
  check(request: GenerateRequest<P>): void {
    const fail = (message: string) => {
      throw new LlmError("invalid_argument", `request ${JSON.stringify(request.requestId)}: ${message}`);
    };
    if (!request.requestId) fail("request_id is empty");
    if (this.active.has(request.requestId)) fail("a request with this id is already running");
    const prompt = request.promptIds;
    if (prompt.length === 0) fail("the prompt has no tokens");
    const vocab = this.limits.vocabSize;
    const outsideVocab = (id: number) => !Number.isInteger(id) || id < 0 || id >= vocab;
    const bad = prompt.findIndex(outsideVocab);
    if (bad >= 0) fail(`prompt token ${bad} (${prompt[bad]}) is not an id in this model's vocabulary [0, ${vocab})`);
    if (!Number.isInteger(request.maxTokens) || request.maxTokens < 1) fail("max_tokens must be an integer >= 1");
    const output = request.outputIds ?? [];
    const badOutput = output.findIndex(outsideVocab);
    if (badOutput >= 0) {
      fail(`output token ${badOutput} (${output[badOutput]}) is not an id in this model's vocabulary [0, ${vocab})`);
    }
    if (output.length > request.maxTokens) {
      fail(`${output.length} output tokens were already generated, more than max_tokens (${request.maxTokens})`);
    }
    const total = prompt.length + request.maxTokens;
    if (total > this.limits.contextLength) {
      fail(
        `prompt (${prompt.length} tokens) + max_tokens (${request.maxTokens}) exceeds the model's context of ${this.limits.contextLength} tokens`,
      );
    }
    const bytes = total * this.limits.bytesPerToken;
    if (bytes > this.limits.kvCacheBytes) {
      fail(
        `needs ${bytes} bytes of KV cache (${total} tokens x ${this.limits.bytesPerToken}), more than this runner's whole KV budget of ${this.limits.kvCacheBytes} bytes: lower max_tokens or shorten the prompt`,
      );
    }
  }

  /** Holds a checked request (waiting when `wait`, else only known until it is released). */
  hold(seq: Sequence<P>, wait: boolean): void {
    this.active.set(seq.id, seq);
    if (wait) this.waiting.push(seq);
  }

  /**
   * The waiting requests that may start now, in order: each needs a batch slot and KV room for its reservation.
   * Their KV is reserved from here until release().
   */
  admit(): Sequence<P>[] {
    const admitted: Sequence<P>[] = [];
    while (this.waiting.length > 0 && this.running < this.limits.maxBatchSize) {
      const seq = this.waiting[0];
      if (this.kvReserved + seq.kvReservation > this.limits.kvCacheBytes) break; // wait for room, in order
      this.waiting.shift();
      this.kvReserved += seq.kvReservation;
      admitted.push(seq);
    }
    return admitted;
  }

  /**
   * Whether a request this long could start at the next step: a free batch slot, and KV room for its reservation
   * beside the running requests and those already waiting. A request larger than the whole KV budget counts as
   * having room (check() refuses it at once instead of letting it wait forever).
   */
  hasRoomFor(promptTokens: number, maxTokens: number): boolean {
    const reservation = this.reservation(promptTokens, maxTokens);
    if (reservation > this.limits.kvCacheBytes) return true;
    const queued = this.waiting.reduce((sum, seq) => sum + seq.kvReservation, 0);
    return (
      this.active.size < this.limits.maxBatchSize && this.kvReserved + queued + reservation <= this.limits.kvCacheBytes
    );
  }

  /** Forgets a finished request: out of the queue if it never started, else its KV reservation is freed. */
  release(seq: Sequence<P>): void {
    if (seq.state === "waiting") {
      const index = this.waiting.indexOf(seq);
      if (index >= 0) this.waiting.splice(index, 1);
    } else {
      this.kvReserved -= seq.kvReservation;
    }
    this.active.delete(seq.id);
  }
}
