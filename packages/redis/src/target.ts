// Where cluster mode's Redis is (one standalone server, or seed nodes of a Redis Cluster) and a client for either.
// Every Redis user of the project (queues, token streams, cancellations, the shared prefix tier, routing) connects
// through here, so one setting switches them all; they need nothing else, because every command they send names
// one key, or keys under one model's hash tag (one slot).
import { Cluster, Redis } from "ioredis";

/** A standalone client or a Redis Cluster one: both take the same commands. */
export type RedisClient = Redis | Cluster;

export type RedisTarget = { cluster: false; url: string } | { cluster: true; seeds: string[] };

/** `urls` as configured (LLM_REDIS_URL); `cluster` (LLM_REDIS_CLUSTER): they are seed nodes of a Redis Cluster. */
export function redisTarget(urls: string | readonly string[], cluster = false): RedisTarget {
  const list = typeof urls === "string" ? [urls] : [...urls];
  if (list.length === 0) throw new Error("no Redis URL given");
  if (cluster) return { cluster: true, seeds: list };
  if (list.length > 1) {
    throw new Error(
      `${list.length} Redis URLs given for a standalone Redis: name one, or set LLM_REDIS_CLUSTER=true if they are seed nodes of one Redis Cluster`,
    );
  }
  return { cluster: false, url: list[0] };
}

export interface RedisClientOptions {
  connectionName?: string;
  /** false: a command while disconnected fails at once instead of waiting for the connection. */
  enableOfflineQueue?: boolean;
  maxRetriesPerRequest?: number | null;
  commandTimeout?: number;
  /** Milliseconds before reconnection attempt `attempt` (every client keeps reconnecting: Redis may come back). */
  reconnectDelay(attempt: number): number;
}

export function connectRedis(target: RedisTarget, options: RedisClientOptions): RedisClient {
  const { reconnectDelay, enableOfflineQueue = true, ...perNode } = options;
  if (!target.cluster) return new Redis(target.url, { ...perNode, enableOfflineQueue, retryStrategy: reconnectDelay });
  // A Cluster client learns the other nodes from the seeds; credentials and TLS of the first seed apply to all.
  const first = new URL(target.seeds[0]);
  const cluster = new Cluster(
    target.seeds.map((seed) => {
      const { hostname, port } = new URL(seed);
      return { host: hostname, port: Number(port || 6379) };
    }),
    {
      enableOfflineQueue,
      clusterRetryStrategy: reconnectDelay,
      redisOptions: {
        ...perNode,
        ...(first.username ? { username: decodeURIComponent(first.username) } : {}),
        ...(first.password ? { password: decodeURIComponent(first.password) } : {}),
        ...(first.protocol === "rediss:" ? { tls: {} } : {}),
      },
    },
  );
  // ioredis connects to a node at its first command; without an offline queue that command fails and is retried
  // ~100 ms later, behind the ones sent after it (a stream's entries would land out of order). Connect at once.
  cluster.on("+node", (node: Redis) => {
    if (node.status === "wait") node.connect().catch(() => {}); // errors reach the commands; it reconnects itself
  });
  return cluster;
}
