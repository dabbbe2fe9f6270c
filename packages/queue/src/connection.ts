// Redis connections of cluster mode. Admitting a request fails at once while Redis is unreachable (the caller
// answers UNAVAILABLE instead of hanging); a request already in flight rides out an outage shorter than its window
// (bufferingConnection, OutageWindow) and fails UNAVAILABLE past it. Every connection reconnects by itself, so
// services recover without a restart when Redis comes back. A standalone Redis or a Redis Cluster alike (RedisTarget).
import { LlmError } from "@llm/errors";
import { connectRedis, type RedisClient, type RedisTarget } from "@llm/redis";
import { Cluster, type Redis } from "ioredis";

/** Longest pause between reconnection attempts. */
const MAX_RECONNECT_DELAY_MS = 1000;

const reconnect = (attempt: number) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS);

/** For request-path commands: no offline queue, no retries; errors become UNAVAILABLE via redisFailure. */
export function failFastConnection(target: RedisTarget, name: string): RedisClient {
  const redis = connectRedis(target, {
    connectionName: name,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    reconnectDelay: reconnect,
  });
  redis.on("error", () => {}); // reported through the commands that fail; the socket reconnects by itself
  return redis;
}

/**
 * For the writes of requests in flight (a runner's token events): through a Redis outage shorter than
 * `outageWindowMs` the commands wait in order in the client's offline queue and go out once it reconnects (one
 * in flight as the connection dropped is sent again, so a reader may see an entry twice); a command still
 * unanswered after the window fails, so a longer outage fails its request. A window of 0 is failFastConnection.
 */
export function bufferingConnection(target: RedisTarget, name: string, outageWindowMs: number): RedisClient {
  if (outageWindowMs === 0) return failFastConnection(target, name);
  const redis = connectRedis(target, {
    connectionName: name,
    maxRetriesPerRequest: null,
    commandTimeout: outageWindowMs,
    reconnectDelay: reconnect,
  });
  redis.on("error", () => {});
  return redis;
}

/** For blocking reads, pub/sub and BullMQ workers: commands wait through an outage (BullMQ requires this). */
export function patientConnection(target: RedisTarget, name: string): RedisClient {
  const redis = connectRedis(target, { connectionName: name, maxRetriesPerRequest: null, reconnectDelay: reconnect });
  redis.on("error", () => {});
  return redis;
}

/**
 * Settles once `redis` is connected, or after `timeoutMs` (a service still starts without Redis; its requests
 * fail UNAVAILABLE until Redis answers). Needed because fail-fast connections refuse commands before that. A
 * Cluster client is ready before its connections to the nodes: those are waited for too (see connectRedis).
 */
export async function whenReady(redis: RedisClient, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  await connected(redis, timeoutMs);
  if (redis instanceof Cluster) {
    await Promise.all(redis.nodes("all").map((node) => connected(node, deadline - Date.now())));
  }
}

async function connected(redis: Redis | Cluster, timeoutMs: number): Promise<void> {
  if (redis.status === "ready" || timeoutMs <= 0) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, timeoutMs);
    redis.once("ready", done);
    function done() {
      clearTimeout(timer);
      redis.off("ready", done);
      resolve();
    }
  });
}

/** A failed Redis command as the error clients get: Redis down is UNAVAILABLE, with a retry hint. */
export function redisFailure(err: unknown, retryAfterMs = 1000): LlmError {
  if (err instanceof LlmError) return err;
  const reason = err instanceof Error ? err.message : String(err);
  return new LlmError("unavailable", `the cluster's Redis is unreachable (${reason}); retry shortly`, {
    retryAfterMs,
    cause: err,
  });
}

/**
 * How long one request's Redis work tolerates an outage: failures are forgiven until Redis has been failing for
 * `windowMs` in a row (the caller tries again later), then they stand as redisFailure. A window of 0 forgives none.
 */
export class OutageWindow {
  private since: number | undefined;

  constructor(private readonly windowMs: number) {}

  /** Runs Redis commands; a Redis failure within the window gives undefined. LlmErrors (verdicts) pass through. */
  async tolerate<T>(commands: () => Promise<T>): Promise<T | undefined> {
    try {
      const result = await commands();
      this.reset();
      return result;
    } catch (err) {
      if (err instanceof LlmError) throw err;
      const failure = this.failure(err);
      if (failure) throw failure;
      return undefined;
    }
  }

  /** Redis failed with `err`: the error to report once the outage has outlasted the window, else undefined. */
  failure(err: unknown): LlmError | undefined {
    const now = Date.now();
    this.since ??= now;
    return now - this.since >= this.windowMs ? redisFailure(err) : undefined;
  }

  /** Redis answered (or the failure was reported): the next failure starts a new window. */
  reset(): void {
    this.since = undefined;
  }
}

/** Runs a Redis command, turning its failure into redisFailure. */
export async function onRedis<T>(command: () => Promise<T>): Promise<T> {
  try {
    return await command();
  } catch (err) {
    throw redisFailure(err);
  }
}
