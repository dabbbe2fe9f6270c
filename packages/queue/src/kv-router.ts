// KV-aware routing, the gateway's half: picks the live runner whose memory holds the longest leading run of
// a prompt's blocks (computed exactly as runners compute them), unless that runner has no free slot.
// Undefined means "no runner has any of it, or Redis failed": use the shared queue.
import type { Log } from "@llm/log";
import { blockKeys } from "@llm/prefix-cache";
import type { RedisClient } from "@llm/redis";
import { hotSetKey, type RunnerHeartbeat, runnersKey } from "./hot-blocks.js";

export interface KvRouterOptions {
  redis: RedisClient;
  keyBase: string;
  /** A heartbeat older than this is a dead or gone runner. */
  staleMs?: number;
  /** The runner list is re-read at most this often. */
  refreshMs?: number;
  log: Log;
}

export interface Route {
  runnerId: string;
  /** Leading prompt blocks that runner holds in memory. */
  blocks: number;
}

interface RunnerView extends RunnerHeartbeat {
  id: string;
  /** Requests this gateway routed to it since its heartbeat (the heartbeat's load does not count them yet). */
  routed: number;
}

export class KvRouter {
  private runners: RunnerView[] = [];
  private readAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: KvRouterOptions) {}

  async route(promptIds: readonly number[], cacheSalt = ""): Promise<Route | undefined> {
    try {
      const candidates = (await this.liveRunners()).filter((r) => r.running + r.waiting + r.routed < r.maxBatchSize);
      if (candidates.length === 0) return undefined;
      const pipeline = this.options.redis.pipeline();
      for (const runner of candidates) {
        const reusable = Math.floor((promptIds.length - 1) / runner.blockSize); // the engine's own bound
        const keys = blockKeys(promptIds.slice(0, reusable * runner.blockSize), {
          modelId: runner.keyModelId,
          cacheSalt,
          blockSize: runner.blockSize,
        });
        if (keys.length === 0) return undefined;
        pipeline.smismember(hotSetKey(this.options.keyBase, runner.id), ...keys);
      }
      const replies = (await pipeline.exec()) ?? [];
      let best: { runner: RunnerView; blocks: number } | undefined;
      replies.forEach(([error, flags], i) => {
        if (error) throw error;
        const held = (flags as number[]).indexOf(0);
        const blocks = held < 0 ? (flags as number[]).length : held;
        const runner = candidates[i];
        const load = (r: RunnerView) => r.running + r.waiting + r.routed;
        if (
          blocks > 0 &&
          (!best || blocks > best.blocks || (blocks === best.blocks && load(runner) < load(best.runner)))
        ) {
          best = { runner, blocks };
        }
      });
      if (!best) return undefined;
      best.runner.routed++;
      return { runnerId: best.runner.id, blocks: best.blocks };
    } catch (error) {
      this.options.log({
        level: "warn",
        msg: `KV-aware routing failed, using the shared queue: ${error instanceof Error ? error.message : error}`,
      });
      return undefined;
    }
  }

  private async liveRunners(): Promise<RunnerView[]> {
    const now = Date.now();
    if (now - this.readAt < (this.options.refreshMs ?? 250)) return this.runners;
    const staleMs = this.options.staleMs ?? 5000;
    const key = runnersKey(this.options.keyBase);
    const entries = await this.options.redis.hgetall(key);
    const previous = new Map(this.runners.map((r) => [r.id, r]));
    const live: RunnerView[] = [];
    const stale: string[] = [];
    for (const [id, json] of Object.entries(entries)) {
      const heartbeat = JSON.parse(json) as RunnerHeartbeat;
      if (now - heartbeat.at > staleMs) {
        stale.push(id);
        continue;
      }
      const before = previous.get(id);
      live.push({ ...heartbeat, id, routed: before && before.at === heartbeat.at ? before.routed : 0 });
    }
    if (stale.length > 0) await this.options.redis.hdel(key, ...stale);
    this.runners = live;
    this.readAt = now;
    return live;
  }
}
