// A cluster dispatcher in the test's or benchmark's own process (what a gateway in cluster mode runs), with
// bounds wide enough to stay out of the way unless the caller sets them.

import { silentLog } from "@llm/log";
import { ClusterDispatcher, type ClusterDispatcherOptions } from "@llm/queue";
import { redisTarget } from "@llm/redis";

export function connectDispatcher(
  redisUrl: string,
  options: Partial<Omit<ClusterDispatcherOptions, "redis">> = {},
): Promise<ClusterDispatcher> {
  return ClusterDispatcher.connect({
    redis: redisTarget(redisUrl),
    maxWaiting: 1000,
    maxWaitingTokens: 1_000_000,
    retryAfterMs: 1000,
    streamTtlMs: 60_000,
    keepFinishedJobs: 10,
    outageWindowMs: 5000,
    log: silentLog,
    ...options,
  });
}
