// Redis connections of cluster mode. Commands on a request's path fail at once while Redis is unreachable
// (the caller answers UNAVAILABLE instead of hanging); every connection reconnects by itself, so services
// recover without a restart when Redis comes back. A standalone Redis or a Redis Cluster alike (RedisTarget).
import { LlmError } from "@llm/errors";
import { connectRedis, type RedisClient, type RedisTarget } from "@llm/prefix-cache";
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

/** Runs a Redis command, turning its failure into redisFailure. */
export async function onRedis<T>(command: () => Promise<T>): Promise<T> {
  try {
    return await command();
  } catch (err) {
    throw redisFailure(err);
  }
}
