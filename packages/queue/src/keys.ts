// Redis names of cluster mode, in one place. Every key of a model shares one hash tag, so a Redis Cluster keeps
// them in one slot (BullMQ's Lua scripts and a multi-stream XREAD need that).

/** BullMQ's key prefix; BullMQ keys are `<prefix>:<queue name>:<suffix>`. */
export const QUEUE_PREFIX = "llm";

export interface ClusterKeys {
  /** BullMQ `prefix` option. */
  prefix: string;
  /** The model's shared queue: `{<model>}` (the braces are the hash tag). */
  queueName: string;
  /** The list of jobs waiting on the shared queue (KEDA's redis scaler scales runners on its length). */
  waitingList: string;
  /** Tokens (prompt + max_tokens) of the admitted requests no runner has taken yet (admission.ts). */
  waitingTokens: string;
  /**
   * Sorted set of those requests' reservations, `<tokens>:<request id>` scored by expiry: its size is the number of
   * requests waiting on the shared queue and every runner's own queue together (admission.ts).
   */
  reservations: string;
  /** The request's Redis Stream of events (admission entry, token events, final or error). */
  tokens(requestId: string): string;
  /** Pub/sub channel where the gateway names a request to cancel. */
  cancelChannel: string;
  /** A runner's own queue (KV-aware routing sends a request there); same hash tag as the shared queue. */
  runnerQueue(runnerId: string): string;
  /** A gateway's wake-up stream for its blocking read of this model's token streams (token-stream-hub.ts). */
  wake(gatewayId: string): string;
  /** Base of the keys where runners publish their hot prefix blocks and load (hot-blocks.ts). */
  hotBase: string;
}

/** Queue names may not contain `:` (BullMQ's separator); braces would break the hash tag. */
function tagOf(modelId: string): string {
  return `{${modelId.replace(/[:{}]/g, "_")}}`;
}

export function clusterKeys(modelId: string): ClusterKeys {
  const queueName = tagOf(modelId);
  const base = `${QUEUE_PREFIX}:${queueName}`;
  return {
    prefix: QUEUE_PREFIX,
    queueName,
    waitingList: `${base}:wait`,
    waitingTokens: `${base}:waiting-tokens`,
    reservations: `${base}:reservations`,
    tokens: (requestId) => `${base}:tokens:${requestId}`,
    cancelChannel: `${base}:cancel`,
    runnerQueue: (runnerId) => `${queueName}.${runnerId.replace(/[:{}]/g, "_")}`,
    wake: (gatewayId) => `${base}:wake:${gatewayId}`,
    hotBase: `${base}:kv`,
  };
}

/** The Redis key whose LLEN is the number of jobs waiting for `modelId` (for KEDA's `listName`). */
export function waitingJobsKey(modelId: string): string {
  return clusterKeys(modelId).waitingList;
}

/**
 * The Redis key whose LLEN is the number of jobs of `modelId`'s shared queue that runners are running (BullMQ's
 * active list): KEDA keeps a runner while it is not empty.
 */
export function runningJobsKey(modelId: string): string {
  return `${QUEUE_PREFIX}:${clusterKeys(modelId).queueName}:active`;
}
