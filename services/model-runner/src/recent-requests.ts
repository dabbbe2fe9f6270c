// The per-token timings of the runner's most recent requests, served as JSON on the metrics port
// (GET /requests/<id>) for `llm trace <request-id>`: "why was this token slow?" without a tracing backend.
import type { TokenEvent } from "@llm/engine";
import type { RequestTimings } from "@llm/telemetry";

const KEPT_REQUESTS = 512;
const KEPT_TOKENS_PER_REQUEST = 8192;

export class RecentRequests {
  private readonly requests = new Map<string, RequestTimings>();

  begin(requestId: string, model: string, promptTokens: number): RequestTimings {
    const timings: RequestTimings = { requestId, model, startedAt: Date.now(), promptTokens, tokens: [] };
    this.requests.delete(requestId); // a re-run (job retried) replaces the earlier record
    this.requests.set(requestId, timings);
    if (this.requests.size > KEPT_REQUESTS) this.requests.delete(this.requests.keys().next().value as string);
    return timings;
  }

  token(
    timings: RequestTimings,
    token: TokenEvent,
    step: { index: number; batchSize: number; durationMs: number },
  ): void {
    if (token.index === 0) {
      timings.queueMs = token.timing.queueMs;
      timings.prefillMs = token.timing.prefillMs;
    }
    if (timings.tokens.length >= KEPT_TOKENS_PER_REQUEST) return;
    timings.tokens.push({
      index: token.index,
      tokenId: token.tokenId,
      sincePreviousMs: token.timing.sincePreviousMs,
      sinceStartMs: token.timing.sinceStartMs,
      step: step.index,
      batchSize: step.batchSize,
      stepMs: step.durationMs,
    });
  }

  get(requestId: string): RequestTimings | undefined {
    return this.requests.get(requestId);
  }
}
