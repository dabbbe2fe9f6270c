// The runner's side of a request's token stream. Writes never create the stream (NOMKSTREAM): a stream that is
// gone means the request ended (the gateway deletes it on cancel and after delivery), so the runner stops.
import type { LlmError } from "@llm/errors";
import type { ModelRunnerServiceGenerateResponse } from "@llm/proto";
import type { RedisClient } from "@llm/redis";
import { decodeEntry, encodeError, encodeEvent, FIELD } from "./stream-entries.js";

export interface StreamLifetimes {
  /** Lifetime of a stream while its request runs (refreshed when a runner takes the job). */
  streamTtlMs: number;
  /** Lifetime after the final event: the window in which a client can still resume it. */
  resumeTtlMs: number;
}

/** Entries beyond the tokens: admission entry, final or error, and slack for a runner that died mid-write. */
const EXTRA_ENTRIES = 4;
/**
 * Room for two writers' tokens: a runner that lost its job (frozen past its lock) writes on until it notices, beside
 * the one that took it over; trimming must never reach the admission entry or tokens a reader has not had yet.
 */
const maxLenOf = (maxTokens: number) => 2 * maxTokens + EXTRA_ENTRIES;

export class TokenStreamWriter {
  constructor(
    private readonly redis: RedisClient,
    private readonly lifetimes: StreamLifetimes,
  ) {}

  /**
   * Opens `key` for a job's first run, without a round trip: it writes from index 0, and a stream that is gone
   * shows at the first write. The lifetime is refreshed on the way (the job may have waited long).
   */
  fresh(key: string, maxTokens: number): RequestOutput {
    const output = new RequestOutput(this.redis, key, maxLenOf(maxTokens), [], this.lifetimes.resumeTtlMs);
    this.redis.pexpire(key, this.lifetimes.streamTtlMs).catch(() => {});
    return output;
  }

  /**
   * Opens `key` for a job taken over from a runner that died, with the output tokens the stream already holds (what
   * the client has been sent: each index's first entry, from 0 on). Resolves to undefined when there is nothing to
   * do: the stream is gone (request ended or expired) or already holds its end (the previous runner died after
   * writing it).
   */
  async open(key: string, maxTokens: number): Promise<RequestOutput | undefined> {
    const [[, alive], [, entries]] = (await this.redis
      .pipeline()
      .pexpire(key, this.lifetimes.streamTtlMs)
      .xrangeBuffer(key, "-", "+")
      .exec()) as [[Error | null, number], [Error | null, [Buffer, Buffer[]][]]];
    if (alive !== 1) return undefined;
    const delivered: number[] = [];
    for (const [, fields] of entries) {
      const entry = decodeEntry(fields);
      if (entry.kind === "error") return undefined;
      if (entry.kind !== "event") continue;
      const { event } = entry.event;
      if (event.case === "final") return undefined;
      // A stale writer's copy of an index already written is not what the client got: the first one is.
      if (event.case === "token" && event.value.index === delivered.length) delivered.push(event.value.tokenId);
    }
    return new RequestOutput(this.redis, key, maxLenOf(maxTokens), delivered, this.lifetimes.resumeTtlMs);
  }
}

/** One job's writes, pipelined in order on one connection; only the end is awaited. */
export class RequestOutput {
  private last: Promise<unknown> = Promise.resolve();
  private gone = false;
  private readonly goneListeners: ((reason?: unknown) => void)[] = [];

  constructor(
    private readonly redis: RedisClient,
    private readonly key: string,
    private readonly maxLen: number,
    /** Output tokens the stream held when this runner took the job over: the generation continues after them. */
    readonly delivered: readonly number[],
    private readonly resumeTtlMs: number,
  ) {}

  /** Called once when the stream is gone or Redis fails: the generation should stop. */
  onGone(listener: (reason?: unknown) => void): void {
    this.goneListeners.push(listener);
  }

  /** Appends a token event or the final; a token index already in the stream is skipped. */
  append(event: ModelRunnerServiceGenerateResponse): void {
    if (event.event.case === "token" && event.event.value.index < this.delivered.length) return;
    this.write(FIELD.event, encodeEvent(event), event.event.case === "final");
  }

  fail(error: LlmError): void {
    this.write(FIELD.error, encodeError(error), true);
  }

  /** Settles once every write was answered. */
  async flushed(): Promise<void> {
    await this.last;
  }

  private write(field: string, value: Buffer, ends: boolean): void {
    if (this.gone) return;
    const added = this.redis.xaddBuffer(this.key, "NOMKSTREAM", "MAXLEN", this.maxLen, "*", field, value);
    this.last = added.then(
      (id) => (id === null ? this.markGone() : undefined),
      (err) => this.markGone(err),
    );
    if (ends) this.last = Promise.all([this.last, this.redis.pexpire(this.key, this.resumeTtlMs).catch(() => {})]);
  }

  private markGone(reason?: unknown): void {
    if (this.gone) return;
    this.gone = true;
    for (const listener of this.goneListeners) listener(reason);
  }
}
