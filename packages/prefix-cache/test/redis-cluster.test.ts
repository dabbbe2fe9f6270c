// The shared tier on a real 3-master Redis Cluster: a prompt's blocks spread over every master, and the tier
// behaves as on a standalone Redis.
import { randomUUID } from "node:crypto";
import { type RedisClusterFixture, startRedisCluster } from "@llm/testing";
import { Cluster } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryBlockStore, PrefixCache, RedisBlockStore, TieredBlockStore } from "../src/index.js";

let fixture: RedisClusterFixture;
let cluster: Cluster;

beforeAll(async () => {
  fixture = await startRedisCluster(3);
  cluster = new Cluster(fixture.nodes, { enableOfflineQueue: false, redisOptions: { maxRetriesPerRequest: 0 } });
  await new Promise((resolve, reject) => {
    cluster.once("ready", resolve);
    cluster.once("error", reject);
  });
}, 60_000);

afterAll(async () => {
  cluster?.disconnect();
  await fixture?.stop();
});

describe("RedisBlockStore on a Redis Cluster", () => {
  it("stores and reuses a prompt's blocks spread over all masters, per tenant", async () => {
    const shared = new RedisBlockStore({ redis: cluster, ttlSeconds: 60, log: () => {} });
    const cache = () => new PrefixCache(new TieredBlockStore(new MemoryBlockStore(1 << 20), shared), "tiny");
    const prompt = Array.from({ length: 32 * 16 }, (_, i) => (i * 7919) % 50_000);
    const tenant = randomUUID();
    const keys = cache().keys(prompt, tenant);
    const values = keys.map((_, i) => Float32Array.from({ length: 32 }, (_, j) => i + j / 100));
    await shared.put(keys.map((key, i) => [key, values[i]] as const));

    // The cluster is fresh: every key on it is one of these blocks, and each master holds some.
    const perMaster = await Promise.all(cluster.nodes("master").map((node) => node.dbsize()));
    expect(perMaster).toHaveLength(3);
    expect(perMaster.reduce((a, b) => a + b)).toBe(32);
    for (const count of perMaster) expect(count).toBeGreaterThan(0);

    const hit = await cache().lookup(keys);
    expect(hit.tokens).toBe(32 * 16);
    expect(hit.blocks).toEqual(values);
    expect((await cache().lookup(cache().keys(prompt, "another-tenant"))).tokens).toBe(0);
    expect(shared.stats().shared).toMatchObject({ hitBlocks: 32, writtenBlocks: 32, errors: 0 });
  });
});
