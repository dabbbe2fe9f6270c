// The gateway's side of token streams: ONE blocking connection reads every open request's stream with a single
// multi-key XREAD (not a connection per request). A request that starts while the read is blocked interrupts it
// with CLIENT UNBLOCK, so it waits for nobody's timeout.
import type { Redis } from "ioredis";
import { redisFailure } from "./connection.js";
import { decodeEntry, type StreamEntry } from "./stream-entries.js";

/** Longest blocking read; only bounds how long a lost wake-up could delay a new stream. */
const BLOCK_MS = 1000;
/** Entries read per stream per round. */
const READ_COUNT = 256;

export class TokenStreamHub {
  private readonly watched = new Map<string, StreamWatch>();
  private clientId: number | undefined;
  private round = 0;
  private blocked = false;
  private wake: (() => void) | undefined;
  private closed = false;
  private readonly loop: Promise<void>;

  /** `reader` is used for the blocking reads only; `control` sends the wake-ups. */
  constructor(
    private readonly reader: Redis,
    private readonly control: Redis,
  ) {
    reader.on("ready", () => {
      this.clientId = undefined; // a reconnected socket has a new client id
    });
    this.loop = this.run();
  }

  /** Follows `key` from its first entry until the watch is closed. */
  watch(key: string): StreamWatch {
    const watch = new StreamWatch(() => this.watched.delete(key));
    this.watched.set(key, watch);
    this.nudge();
    return watch;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.nudge();
    await this.loop;
  }

  private nudge(): void {
    if (this.wake) {
      this.wake();
      return;
    }
    if (!this.blocked || this.clientId === undefined) return;
    const round = this.round;
    this.control.client("UNBLOCK", this.clientId).then(
      // 0: the read was sent but not yet blocking on the server; try again until this round is over.
      (unblocked) => {
        if (unblocked === 0 && this.round === round && this.blocked) setTimeout(() => this.nudge(), 1);
      },
      () => {},
    );
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      if (this.watched.size === 0) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = undefined;
        continue;
      }
      const keys = [...this.watched.keys()];
      const ids = keys.map((key) => this.watched.get(key)?.lastId ?? "0-0");
      try {
        this.clientId ??= (await this.reader.client("ID")) as number;
        this.round += 1;
        this.blocked = true;
        const result = await this.reader.xreadBuffer(
          "COUNT",
          READ_COUNT,
          "BLOCK",
          BLOCK_MS,
          "STREAMS",
          ...keys,
          ...ids,
        );
        this.blocked = false;
        for (const [key, entries] of result ?? []) this.watched.get(key.toString())?.deliver(entries);
      } catch (err) {
        this.blocked = false;
        const failure = redisFailure(err);
        for (const watch of keys.map((key) => this.watched.get(key))) watch?.fail(failure);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }
}

/** One request's entries, in order, as they arrive. */
export class StreamWatch {
  lastId = "0-0";
  private readonly queue: StreamEntry[] = [];
  private failure: Error | undefined;
  private waiter: (() => void) | undefined;

  constructor(readonly close: () => void) {}

  deliver(entries: [Buffer, Buffer[]][]): void {
    for (const [, fields] of entries) this.queue.push(decodeEntry(fields));
    const newest = entries.at(-1);
    if (newest) this.lastId = newest[0].toString();
    this.waiter?.();
  }

  fail(error: Error): void {
    this.failure ??= error;
    this.waiter?.();
  }

  /**
   * The entries that arrived since the last call (waits for at least one). Throws the read's failure, or the
   * abort reason of `signal`; resolves empty after `idleMs` without entries so the caller can check on the job.
   */
  async next(signal: AbortSignal, idleMs: number): Promise<StreamEntry[]> {
    if (this.queue.length === 0 && this.failure === undefined) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener("abort", done);
          this.waiter = undefined;
          resolve();
        };
        const timer = setTimeout(done, idleMs);
        signal.addEventListener("abort", done, { once: true });
        this.waiter = done;
      });
    }
    signal.throwIfAborted();
    if (this.failure) throw this.failure;
    return this.queue.splice(0);
  }
}
