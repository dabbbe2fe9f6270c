// Redis connections of cluster mode. Commands on a request's path fail at once while Redis is unreachable
// (the caller answers UNAVAILABLE instead of hanging); every connection reconnects by itself, so services
// recover without a restart when Redis comes back.
import { LlmError } from "@llm/errors";
import { Redis } from "ioredis";

/** Longest pause between reconnection attempts. */
const MAX_RECONNECT_DELAY_MS = 1000;

const reconnect = (attempt: number) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS);

/** For request-path commands: no offline queue, no retries; errors become UNAVAILABLE via redisFailure. */
export function failFastConnection(url: string, name: string): Redis {
  const redis = new Redis(url, {
    connectionName: name,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: reconnect,
  });
  redis.on("error", () => {}); // reported through the commands that fail; the socket reconnects by itself
  return redis;
}

/** For blocking reads, pub/sub and BullMQ workers: commands wait through an outage (BullMQ requires this). */
export function patientConnection(url: string, name: string): Redis {
  const redis = new Redis(url, {
    connectionName: name,
    maxRetriesPerRequest: null,
    retryStrategy: reconnect,
  });
  redis.on("error", () => {});
  return redis;
}

/**
 * Settles once `redis` is connected, or after `timeoutMs` (a service still starts without Redis; its requests
 * fail UNAVAILABLE until Redis answers). Needed because fail-fast connections refuse commands before that.
 */
export async function whenReady(redis: Redis, timeoutMs = 5000): Promise<void> {
  if (redis.status === "ready") return;
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
