// The requests the gateway is serving now: the admission cap, and cancel-by-id.
import { LlmError } from "@llm/errors";

export interface Admission {
  /** Aborts when a Cancel call names this request. */
  readonly signal: AbortSignal;
  /** Frees the slot and forgets the id; call once the request has ended, however it ended. */
  release(): void;
}

export class InflightRequests {
  private readonly cancellers = new Map<string, AbortController>();

  /** `limit`: most requests served at once; `retryAfterMs`: the hint sent to those turned away. */
  constructor(
    private readonly limit: number,
    private readonly retryAfterMs = 1000,
  ) {}

  get size(): number {
    return this.cancellers.size;
  }

  admit(requestId: string): Admission {
    if (this.cancellers.has(requestId)) {
      throw new LlmError(
        "invalid_argument",
        `request_id "${requestId}" is already in flight; choose an id unique among your running requests, or leave it empty`,
        { details: { field: "request_id" } },
      );
    }
    if (this.cancellers.size >= this.limit) {
      throw new LlmError(
        "resource_exhausted",
        `the gateway is serving its maximum of ${this.limit} requests (LLM_MAX_INFLIGHT); retry shortly`,
        { retryAfterMs: this.retryAfterMs, details: { limit: this.limit } },
      );
    }
    const canceller = new AbortController();
    this.cancellers.set(requestId, canceller);
    return {
      signal: canceller.signal,
      release: () => {
        if (this.cancellers.get(requestId) === canceller) this.cancellers.delete(requestId);
      },
    };
  }

  /** Cancels the in-flight request with this id; false when there is none (it may have just finished). */
  cancel(requestId: string): boolean {
    const canceller = this.cancellers.get(requestId);
    canceller?.abort(new LlmError("cancelled", `request "${requestId}" was cancelled by a Cancel call`));
    return canceller !== undefined;
  }
}
