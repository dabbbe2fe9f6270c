// The gateway's side of a model's token streams: ONE blocking connection reads every open request stream of the
// model with a single multi-key XREAD (not a connection per request). The keys share the model's hash tag, so on
// a Redis Cluster the read goes to the one node holding that slot. A request that starts while the read is
// blocked wakes it by adding an entry to the hub's own wake-up stream, which every read includes (from the last
// entry it saw, so a wake-up sent just before the read blocks is not lost): it waits for nobody's timeout.
import type { RedisClient } from "@llm/redis";
import { OutageWindow } from "./connection.js";
import { decodeEntry, type StreamEntry } from "./stream-entries.js";

/** Longest blocking read; only bounds how long closing waits when Redis cannot take the wake-up. */
const BLOCK_MS = 1000;
/** Entries read per stream per round. */
const READ_COUNT = 256;
/** The wake-up stream outlives a gateway that died by this long. */
const WAKE_TTL_MS = 60_000;

export class TokenStreamHub {
  private readonly watched = new Map<string, StreamWatch>();
  private wakeLastId = "0-0";
  private reading = false;
  private nudged = false;
  private idle: (() => void) | undefined;
  private closed = false;
  private readonly loop: Promise<void>;
  private readonly outage: OutageWindow;

  /**
   * `reader` is used for the blocking reads only (the hub owns it); `control` sends the wake-ups. A read failing
   * for less than `outageWindowMs` is retried; past it every watch fails.
   */
  constructor(
    private readonly reader: RedisClient,
    private readonly control: RedisClient,
    private readonly wakeKey: string,
    outageWindowMs: number,
  ) {
    this.outage = new OutageWindow(outageWindowMs);
    this.loop = this.run();
  }

  /** Follows `key` from its first entry (or the first after entry id `after`) until the watch is closed. */
  watch(key: string, after = "0-0"): StreamWatch {
    const watch = new StreamWatch(() => this.watched.delete(key), after);
    this.watched.set(key, watch);
    this.nudge();
    return watch;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.nudge();
    await this.loop;
    this.reader.disconnect();
    await this.control.del(this.wakeKey).catch(() => {});
  }

  private nudge(): void {
    if (this.idle) {
      this.idle();
      return;
    }
    if (!this.reading || this.nudged) return; // one wake-up per read is enough
    this.nudged = true;
    this.control.xadd(this.wakeKey, "MAXLEN", 1, "*", "w", "").catch(() => {});
    this.control.pexpire(this.wakeKey, WAKE_TTL_MS).catch(() => {});
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      if (this.watched.size === 0) {
        await new Promise<void>((resolve) => {
          this.idle = resolve;
        });
        this.idle = undefined;
        continue;
      }
      const keys = [...this.watched.keys()];
      const ids = keys.map((key) => this.watched.get(key)?.lastId ?? "0-0");
      this.nudged = false;
      this.reading = true;
      try {
        const result = await this.reader.xreadBuffer(
          "COUNT",
          READ_COUNT,
          "BLOCK",
          BLOCK_MS,
          "STREAMS",
          this.wakeKey,
          ...keys,
          this.wakeLastId,
          ...ids,
        );
        this.outage.reset();
        for (const [key, entries] of result ?? []) {
          const name = key.toString();
          if (name === this.wakeKey) this.wakeLastId = entries.at(-1)?.[0].toString() ?? this.wakeLastId;
          else this.watched.get(name)?.deliver(entries);
        }
      } catch (err) {
        const failure = this.outage.failure(err);
        if (failure) {
          for (const watch of keys.map((key) => this.watched.get(key))) watch?.fail(failure);
          this.outage.reset(); // reported: the next watches get a window of their own
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      } finally {
        this.reading = false;
      }
    }
  }
}

/** One request's entries, in order, as they arrive. */
export class StreamWatch {
  private readonly queue: StreamEntry[] = [];
  private failure: Error | undefined;
  private waiter: (() => void) | undefined;

  constructor(
    readonly close: () => void,
    /** The last entry id read: the next read starts after it. */
    public lastId = "0-0",
  ) {}

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
