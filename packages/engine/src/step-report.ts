// What one engine step computed, gathered while it runs and handed to an EngineObserver at its end (the
// runner turns it into an `llm.runner.step` span and metrics; the engine itself knows nothing of telemetry).
import type { ExecutionProvider } from "./session.js";
import type { StepSpeed } from "./speculation/policy.js";
import type { TokenEvent } from "./types.js";

export interface EngineStep {
  /** 1, 2, 3, … over the engine's life; only steps that computed something count. */
  index: number;
  /** Milliseconds since the epoch. */
  startedAt: number;
  durationMs: number;
  provider: ExecutionProvider;
  /** Sequences computed: decode rows plus prefill chunks. */
  batchSize: number;
  prefillTokens: number;
  decodeTokens: number;
  /** The requests the step computed for, in batch order. */
  requestIds: string[];
  /** Tokens the step produced, as pushed to each request's stream. */
  tokens: { requestId: string; token: TokenEvent }[];
  /** A speculative verify step: the most proposals any row carried (k), and how many of them were accepted. */
  verify?: { lookahead: number; proposedTokens: number; acceptedTokens: number };
}

export interface EngineObserver {
  /** Called synchronously at the end of each step; a throw is logged and ignored. */
  onStep(step: EngineStep): void;
}

export class StepRecord {
  readonly startedAt = performance.now();
  private prefillTokens = 0;
  private decodeTokens = 0;
  private readonly requestIds: string[] = [];
  private readonly tokens: EngineStep["tokens"] = [];
  private lookahead = 0;
  private proposedTokens = 0;
  private acceptedTokens = 0;

  prefilled(requestId: string, chunkTokens: number): void {
    this.prefillTokens += chunkTokens;
    this.requestIds.push(requestId);
  }

  /** Decode rows, each with `lookahead` positions after its pending token when the step verifies proposals. */
  decoded(requestIds: readonly string[], lookahead = 0, proposedTokens = 0): void {
    this.decodeTokens += requestIds.length * (1 + lookahead);
    this.requestIds.push(...requestIds);
    this.lookahead = Math.max(this.lookahead, lookahead);
    this.proposedTokens += proposedTokens;
  }

  accepted(tokens: number): void {
    this.acceptedTokens += tokens;
  }

  produced(requestId: string, token: TokenEvent): void {
    this.tokens.push({ requestId, token });
  }

  /** A decode-only step's rows, whether it verified proposals, its time and tokens; undefined if it prefilled. */
  speedSample(): Omit<StepSpeed, "catchUpMs" | "proposers"> | undefined {
    if (this.prefillTokens > 0 || this.decodeTokens === 0) return undefined;
    const ms = performance.now() - this.startedAt;
    return { rows: this.requestIds.length, speculated: this.proposedTokens > 0, ms, tokens: this.tokens.length };
  }

  get computedAnything(): boolean {
    return this.prefillTokens + this.decodeTokens > 0;
  }

  report(index: number, provider: ExecutionProvider): EngineStep {
    return {
      index,
      startedAt: performance.timeOrigin + this.startedAt,
      durationMs: performance.now() - this.startedAt,
      provider,
      batchSize: this.requestIds.length,
      prefillTokens: this.prefillTokens,
      decodeTokens: this.decodeTokens,
      requestIds: this.requestIds,
      tokens: this.tokens,
      ...(this.lookahead > 0 && {
        verify: {
          lookahead: this.lookahead,
          proposedTokens: this.proposedTokens,
          acceptedTokens: this.acceptedTokens,
        },
      }),
    };
  }
}
