// Runners publishing their hot blocks and a gateway's router choosing among them, on a real Redis.
import { randomUUID } from "node:crypto";
import { silentLog } from "@llm/log";
import { MemoryBlockStore, PrefixCache } from "@llm/prefix-cache";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { HotBlockPublisher, KvRouter, type RunnerLoad, runnersKey } from "../src/index.js";

const prompt = (seed: number, length = 100) => Array.from({ length }, (_, i) => (i * 7919 + seed * 131) % 50_000);
let redis: Redis;

beforeAll(() => {
  redis = new Redis(inject("redisUrl"));
});
afterAll(() => redis.disconnect());

/** A runner's memory tier and its publisher (no model needed: the keys and values are what count here). */
function runner(keyBase: string, runnerId: string, load: RunnerLoad = { running: 0, waiting: 0, maxBatchSize: 4 }) {
  const cache = new PrefixCache(new MemoryBlockStore(1 << 24), "tiny");
  const state = { load };
  const publisher = new HotBlockPublisher({
    redis,
    keyBase,
    runnerId,
    keyModelId: "tiny",
    blockSize: cache.blockSize,
    hotKeys: (limit) => cache.recentKeys(limit),
    load: () => state.load,
    intervalMs: 60_000, // the tests publish explicitly
    log: silentLog,
  });
  /** Caches the first `tokens` tokens of `ids` under `salt`, as the engine does after a prefill. */
  const hold = (ids: number[], tokens: number, salt?: string) => {
    const keys = cache.keys(ids.slice(0, tokens), salt);
    return cache.insert(
      keys,
      0,
      keys.map(() => new Float32Array(4)),
    );
  };
  return { publisher, hold, state };
}

describe("KV-aware routing", () => {
  it("routes to the runner holding the longest leading run of the prompt's blocks, per tenant", async () => {
    const keyBase = `test:{${randomUUID()}}`;
    const a = runner(keyBase, "a");
    const b = runner(keyBase, "b");
    await a.hold(prompt(1), 32); // 2 blocks of prompt 1
    await b.hold(prompt(1), 80); // 5 blocks of prompt 1
    await a.hold(prompt(2), 96);
    await b.hold(prompt(3), 96, "tenant-x");
    await Promise.all([a.publisher.publish(), b.publisher.publish()]);
    const router = new KvRouter({ redis, keyBase, log: silentLog });

    expect(await router.route(prompt(1))).toEqual({ runnerId: "b", blocks: 5 });
    expect(await router.route(prompt(2))).toEqual({ runnerId: "a", blocks: 6 });
    expect(await router.route(prompt(3), "tenant-x")).toEqual({ runnerId: "b", blocks: 6 });
    expect(await router.route(prompt(3))).toBeUndefined(); // another tenant holds it: no preference
    expect(await router.route(prompt(4))).toBeUndefined(); // nobody holds it: shared queue
    expect(await router.route(prompt(1, 10))).toBeUndefined(); // shorter than a block
  });

  it("skips a runner with no free slot, counting the requests it routed since that runner's heartbeat", async () => {
    const keyBase = `test:{${randomUUID()}}`;
    const a = runner(keyBase, "a", { running: 1, waiting: 0, maxBatchSize: 2 });
    const b = runner(keyBase, "b");
    await a.hold(prompt(1), 96);
    await b.hold(prompt(1), 16);
    await Promise.all([a.publisher.publish(), b.publisher.publish()]);
    const router = new KvRouter({ redis, keyBase, refreshMs: 0, log: silentLog });
    expect((await router.route(prompt(1)))?.runnerId).toBe("a"); // its last free slot
    expect((await router.route(prompt(1)))?.runnerId).toBe("b"); // a is full until it reports otherwise
    a.state.load = { running: 0, waiting: 0, maxBatchSize: 2 };
    await new Promise((r) => setTimeout(r, 2)); // a new heartbeat timestamp
    await a.publisher.publish();
    expect((await router.route(prompt(1)))?.runnerId).toBe("a");
  });

  it("ignores and removes runners whose heartbeat is stale or withdrawn", async () => {
    const keyBase = `test:{${randomUUID()}}`;
    const a = runner(keyBase, "a");
    const b = runner(keyBase, "b");
    await a.hold(prompt(1), 96);
    await b.hold(prompt(1), 48);
    await Promise.all([a.publisher.publish(), b.publisher.publish()]);
    const router = new KvRouter({ redis, keyBase, staleMs: 300, refreshMs: 0, log: silentLog });
    expect((await router.route(prompt(1)))?.runnerId).toBe("a");

    await new Promise((r) => setTimeout(r, 400));
    await b.publisher.publish(); // only b is still alive
    expect((await router.route(prompt(1)))?.runnerId).toBe("b");
    expect(await redis.hkeys(runnersKey(keyBase))).toEqual(["b"]);

    await b.publisher.stop();
    expect(await router.route(prompt(1))).toBeUndefined();
    await a.publisher.stop();
  });

  it("falls back to the shared queue when Redis fails, with a warning", async () => {
    const warnings: string[] = [];
    const broken = new Redis({ port: 1, lazyConnect: true, enableOfflineQueue: false, retryStrategy: () => null });
    broken.on("error", () => {});
    const router = new KvRouter({ redis: broken, keyBase: "test:{x}", log: ({ msg }) => warnings.push(msg) });
    expect(await router.route(prompt(1))).toBeUndefined();
    expect(warnings[0]).toMatch(/KV-aware routing failed, using the shared queue/);
    broken.disconnect();
  });
});
