// The JSON the runner serves at GET /requests/<id> on its metrics port (services/model-runner/src/recent-requests.ts)
// and `llm trace <request-id>` reads: one finished or running request's per-token timings.

export interface TokenTimingRecord {
  index: number;
  tokenId: number;
  /** Since the previous token (the first: since the request reached the runner). */
  sincePreviousMs: number;
  sinceStartMs: number;
  /** The engine step that produced it, and that step's batch size and duration. */
  step: number;
  batchSize: number;
  stepMs: number;
}

export interface RequestTimings {
  requestId: string;
  model: string;
  /** Milliseconds since the epoch. */
  startedAt: number;
  promptTokens: number;
  queueMs?: number;
  prefillMs?: number;
  cachedPromptTokens?: number;
  /** Speculating requests: tokens proposed, and accepted (tokens sharing a `step` are one verified run). */
  proposedTokens?: number;
  acceptedTokens?: number;
  finishReason?: string;
  tokens: TokenTimingRecord[];
}

/** The path prefix of the route: GET <prefix><request id>. */
export const REQUEST_TIMINGS_PATH = "/requests/";
