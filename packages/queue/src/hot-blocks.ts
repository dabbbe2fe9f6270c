// KV-aware routing, the runner's half: every interval a runner publishes the block keys its memory tier holds
// (most recently used first, bounded) and its load, so gateways can send a request to the runner that already
// holds the longest prefix of it. Keys (under the caller's base, e.g. the model's hash-tagged "llm:{tiny}"):
//   <base>:hot:<runnerId>   SET of block keys, expiring after a few missed heartbeats
//   <base>:runners          HASH runnerId -> JSON RunnerHeartbeat (stale fields are ignored and removed by readers)
import type { Log } from "@llm/log";
import type { RedisClient } from "@llm/redis";

export interface RunnerLoad {
  running: number;
  waiting: number;
  maxBatchSize: number;
}

export interface RunnerHeartbeat extends RunnerLoad {
  /** The model id and block size the runner's block keys were computed with. */
  keyModelId: string;
  blockSize: number;
  /** Date.now() of the heartbeat. */
  at: number;
}

export const hotSetKey = (base: string, runnerId: string) => `${base}:hot:${runnerId}`;
export const runnersKey = (base: string) => `${base}:runners`;

export interface HotBlockPublisherOptions {
  redis: RedisClient;
  keyBase: string;
  runnerId: string;
  keyModelId: string;
  blockSize: number;
  hotKeys(limit: number): string[];
  load(): RunnerLoad;
  intervalMs?: number;
  /** Most keys published: the memory tier's most recently used ones. */
  maxKeys?: number;
  log: Log;
}

export class HotBlockPublisher {
  private readonly timer: NodeJS.Timeout;
  private readonly intervalMs: number;

  constructor(private readonly options: HotBlockPublisherOptions) {
    this.intervalMs = options.intervalMs ?? 1000;
    this.timer = setInterval(() => void this.publish(), this.intervalMs).unref();
  }

  /** One heartbeat now; failures are logged, never thrown (routing is an optimisation). */
  async publish(): Promise<void> {
    const { redis, keyBase, runnerId, keyModelId, blockSize } = this.options;
    const set = hotSetKey(keyBase, runnerId);
    const keys = this.options.hotKeys(this.options.maxKeys ?? 4096);
    const heartbeat: RunnerHeartbeat = { ...this.options.load(), keyModelId, blockSize, at: Date.now() };
    const multi = redis.multi().del(set);
    if (keys.length > 0) multi.sadd(set, ...keys).pexpire(set, 5 * this.intervalMs);
    multi.hset(runnersKey(keyBase), runnerId, JSON.stringify(heartbeat));
    try {
      await multi.exec();
    } catch (error) {
      this.options.log({
        level: "warn",
        msg: `cannot publish hot prefix blocks: ${error instanceof Error ? error.message : error}`,
      });
    }
  }

  /** Stops publishing and withdraws this runner, so no gateway routes to it any more. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    const { redis, keyBase, runnerId } = this.options;
    await redis
      .multi()
      .del(hotSetKey(keyBase, runnerId))
      .hdel(runnersKey(keyBase), runnerId)
      .exec()
      .catch(() => {}); // Redis down: the heartbeat goes stale by itself
  }
}
