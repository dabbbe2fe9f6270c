// The shared tier: block values in Redis under their chained keys, with a TTL, so every runner reuses
// blocks any runner computed. It never fails a request: a Redis error is a miss (or a dropped write)
// with a rate-limited warning, and the caller goes on computing the prefix itself.

import type { Log } from "@llm/log";
import { connectRedis, type RedisClient, type RedisTarget } from "@llm/redis";
import { type BlockDtype, decodeBlock, encodeBlock } from "./block-codec.js";
import type { BlockStore, BlockStoreStats, KvBlock, SharedTierStats } from "./store.js";

export interface RedisBlockStoreOptions {
  /** A standalone client or a Redis Cluster one: every command names one key, so blocks spread over the slots. */
  redis: RedisClient;
  ttlSeconds: number;
  /** How values are stored; float16 halves the bytes moved (reads always accept both). Default float32. */
  dtype?: BlockDtype;
  /** Prepended to every block key. Default "llm:kv:". */
  keyPrefix?: string;
  /** Writes waiting for Redis past this many bytes are dropped, so a slow Redis cannot grow the heap. */
  maxPendingWriteBytes?: number;
  log: Log;
}

/** Options for a client the tier owns: fail fast instead of queueing while Redis is away. */
export function connectSharedTier(target: RedisTarget, log: Log): RedisClient {
  const warn = rateLimitedWarn(log);
  const redis = connectRedis(target, {
    enableOfflineQueue: false, // a command while disconnected fails at once: a miss, not a stall
    maxRetriesPerRequest: 0,
    commandTimeout: 3000, // a hung Redis costs one admission at most this long (a 1,024-token gpt2-small prefix is ~75 MB)
    reconnectDelay: (attempt) => Math.min(attempt * 200, 2000),
  });
  redis.on("error", (error: Error) => warn(`prefix cache Redis connection: ${error.message}`));
  return redis;
}

export class RedisBlockStore implements BlockStore {
  private readonly redis: RedisClient;
  private readonly ttlSeconds: number;
  private readonly dtype: BlockDtype;
  private readonly keyPrefix: string;
  private readonly maxPendingWriteBytes: number;
  private readonly warn: (message: string) => void;
  private pendingWriteBytes = 0;
  private readonly counters: SharedTierStats = { hitBlocks: 0, writtenBlocks: 0, droppedBlocks: 0, errors: 0 };

  constructor(options: RedisBlockStoreOptions) {
    if (!(options.ttlSeconds >= 1)) throw new RangeError(`ttlSeconds must be >= 1, got ${options.ttlSeconds}`);
    this.redis = options.redis;
    this.ttlSeconds = Math.floor(options.ttlSeconds);
    this.dtype = options.dtype ?? "float32";
    this.keyPrefix = options.keyPrefix ?? "llm:kv:";
    this.maxPendingWriteBytes = options.maxPendingWriteBytes ?? 512 * 1024 ** 2;
    this.warn = rateLimitedWarn(options.log);
  }

  /** The Redis key of a block key. */
  redisKey(key: string): string {
    return this.keyPrefix + key;
  }

  async getPrefix(keys: readonly string[]): Promise<KvBlock[]> {
    if (keys.length === 0) return [];
    try {
      // First which keys exist (small replies), then the values of the leading run only: a gap would make
      // every later block useless, so their megabytes are never moved. Commands are all sent before any reply
      // is awaited (pipelined on each connection; a Cluster client sends each to its key's node).
      const exists = await Promise.all(keys.map((key) => this.redis.exists(this.redisKey(key))));
      let length = exists.findIndex((count) => count !== 1);
      if (length < 0) length = keys.length;
      if (length === 0) return [];
      // GETEX refreshes the TTL of blocks in use.
      const values = await Promise.all(
        keys.slice(0, length).map((key) => this.redis.getexBuffer(this.redisKey(key), "EX", this.ttlSeconds)),
      );
      const blocks: KvBlock[] = [];
      for (const value of values) {
        if (!(value instanceof Buffer)) break; // expired between the two round trips
        blocks.push(decodeBlock(value));
      }
      this.counters.hitBlocks += blocks.length;
      return blocks;
    } catch (error) {
      this.failed("lookup (treated as a miss)", error);
      return [];
    }
  }

  /**
   * Writes the blocks after the current turn of the event loop (encoding included), so the caller's step
   * goes on at once; the promise settles when Redis has them or the write was given up (never rejects).
   */
  put(entries: ReadonlyArray<readonly [key: string, value: KvBlock]>): Promise<void> {
    if (entries.length === 0) return Promise.resolve();
    const bytes = entries.reduce((sum, [, value]) => sum + value.byteLength, 0);
    if (this.pendingWriteBytes + bytes > this.maxPendingWriteBytes) {
      this.counters.droppedBlocks += entries.length;
      this.warn(
        `prefix cache Redis writes are behind by ${this.pendingWriteBytes} bytes: dropping ${entries.length} blocks`,
      );
      return Promise.resolve();
    }
    this.pendingWriteBytes += bytes;
    return new Promise<void>((resolve) => setImmediate(resolve))
      .then(async () => {
        await Promise.all(
          entries.map(([key, value]) =>
            this.redis.set(this.redisKey(key), encodeBlock(value, this.dtype), "EX", this.ttlSeconds),
          ),
        );
        this.counters.writtenBlocks += entries.length;
      })
      .catch((error: unknown) => {
        this.counters.droppedBlocks += entries.length;
        this.failed(`write of ${entries.length} blocks (dropped)`, error);
      })
      .finally(() => {
        this.pendingWriteBytes -= bytes;
      });
  }

  stats(): BlockStoreStats {
    // Redis holds what every runner wrote; its totals are not this runner's to report.
    return { tier: "redis", blocks: 0, bytes: 0, maxBytes: 0, evictions: 0, shared: { ...this.counters } };
  }

  private failed(what: string, error: unknown): void {
    this.counters.errors++;
    this.warn(`prefix cache Redis ${what}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** A warning at most every 10 s, saying how many were suppressed: an outage must not flood the log. */
function rateLimitedWarn(log: Log, intervalMs = 10_000): (message: string) => void {
  let last = Number.NEGATIVE_INFINITY;
  let suppressed = 0;
  return (message) => {
    const now = Date.now();
    if (now - last < intervalMs) {
      suppressed++;
      return;
    }
    log({ level: "warn", msg: suppressed > 0 ? `${message} (${suppressed} similar warnings suppressed)` : message });
    last = now;
    suppressed = 0;
  };
}
