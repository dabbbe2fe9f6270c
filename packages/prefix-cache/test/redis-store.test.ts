// The shared tier against a real redis-server (the global fixture), and against one that is gone.
import { randomUUID } from "node:crypto";
import { silentLog } from "@llm/log";
import { type RedisClient, redisTarget } from "@llm/redis";
import { startRedisServer } from "@llm/testing";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { fromFloat16 } from "../src/float16.js";
import { connectSharedTier, MemoryBlockStore, PrefixCache, RedisBlockStore, TieredBlockStore } from "../src/index.js";

const block = (seed: number, floats = 64) => Float32Array.from({ length: floats }, (_, i) => Math.sin(seed * 100 + i));
let redis: Redis;

beforeAll(() => {
  redis = new Redis(inject("redisUrl"));
});
afterAll(() => redis.disconnect());

/** A store under its own key prefix, so tests never see each other's blocks. */
function store(options: Partial<ConstructorParameters<typeof RedisBlockStore>[0]> = {}): RedisBlockStore {
  return new RedisBlockStore({ redis, ttlSeconds: 60, keyPrefix: `test:${randomUUID()}:`, log: silentLog, ...options });
}

describe("RedisBlockStore", () => {
  it("returns the longest stored prefix, stops at the first gap and sets the TTL", async () => {
    const tier = store({ ttlSeconds: 42 });
    await tier.put([
      ["a", block(1)],
      ["b", block(2)],
      ["d", block(4)],
    ]);
    const found = await tier.getPrefix(["a", "b", "c", "d"]);
    expect(found).toEqual([block(1), block(2)]);
    expect(await tier.getPrefix(["c", "a"])).toEqual([]);
    const ttl = await redis.ttl(tier.redisKey("d"));
    expect(ttl).toBeGreaterThan(30);
    expect(ttl).toBeLessThanOrEqual(42);
    expect(tier.stats().shared).toMatchObject({ hitBlocks: 2, writtenBlocks: 3, errors: 0 });
  });

  it("stores float16 in half the bytes, and a float32 reader gets the float16 block back (the engine widens it)", async () => {
    const keyPrefix = `test:${randomUUID()}:`;
    const writer = store({ keyPrefix, dtype: "float16" });
    const value = block(7, 4096);
    await writer.put([["k", value]]);
    expect(await redis.strlen(writer.redisKey("k"))).toBe(8 + 2 * 4096);
    const [stored] = await store({ keyPrefix, dtype: "float32" }).getPrefix(["k"]);
    expect(stored).toBeInstanceOf(Uint16Array);
    const back = fromFloat16(stored as Uint16Array);
    expect(back).toHaveLength(4096);
    for (let i = 0; i < value.length; i++) expect(Math.abs(back[i] - value[i])).toBeLessThanOrEqual(2 ** -11);
  });

  it("treats a corrupt value as a miss and says so", async () => {
    const warnings: string[] = [];
    const tier = store({ log: ({ msg }) => warnings.push(msg) });
    await redis.set(tier.redisKey("bad"), "not a block");
    expect(await tier.getPrefix(["bad"])).toEqual([]);
    expect(warnings.join("\n")).toMatch(/lookup \(treated as a miss\): not a version-1 KV block/);
    expect(tier.stats().shared?.errors).toBe(1);
  });

  it("drops writes instead of queueing past its pending-bytes bound", async () => {
    const tier = store({ maxPendingWriteBytes: 64 * 4 });
    const first = tier.put([["a", block(1)]]);
    await tier.put([["b", block(2)]]); // a is still pending: b does not fit
    await first;
    expect(tier.stats().shared).toMatchObject({ writtenBlocks: 1, droppedBlocks: 1 });
    expect(await tier.getPrefix(["a", "b"])).toHaveLength(1);
  });
});

describe("a Redis that is down", () => {
  it("degrades to misses and dropped writes, fast, with a warning; serves again when Redis is back", async () => {
    const server = await startRedisServer();
    const warnings: string[] = [];
    const client = connectSharedTier(redisTarget(server.url), ({ msg }) => warnings.push(msg));
    const tier = new RedisBlockStore({ redis: client, ttlSeconds: 60, log: ({ msg }) => warnings.push(msg) });
    try {
      await untilReady(client);
      await tier.put([["a", block(1)]]);
      expect(await tier.getPrefix(["a"])).toHaveLength(1);
      await server.stop();

      const started = performance.now();
      expect(await tier.getPrefix(["a"])).toEqual([]);
      await tier.put([["b", block(2)]]);
      expect(performance.now() - started).toBeLessThan(2500); // no hang until the command timeout and beyond
      expect(tier.stats().shared?.errors).toBeGreaterThanOrEqual(2);
      expect(warnings.some((w) => /prefix cache Redis (lookup|write)/.test(w))).toBe(true);

      const port = Number(new URL(server.url).port);
      const again = await startRedisServer(port);
      try {
        await untilReady(client);
        await tier.put([["c", block(3)]]);
        expect(await tier.getPrefix(["c"])).toHaveLength(1);
      } finally {
        await again.stop();
      }
    } finally {
      client.disconnect();
      await server.stop();
    }
  });
});

/** The tier's client fails commands while disconnected (no offline queue): wait for the connection. */
async function untilReady(client: RedisClient): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (client.status !== "ready") {
    if (Date.now() > deadline) throw new Error(`Redis client still ${client.status} after 10 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("TieredBlockStore", () => {
  it("asks Redis only past memory's match, promotes Redis hits, and writes new blocks to both", async () => {
    const shared = store();
    await shared.put([
      ["a", block(1)],
      ["b", block(2)],
    ]);
    const memory = new MemoryBlockStore(1 << 20);
    await memory.put([["a", block(1)]]);
    const tiered = new TieredBlockStore(memory, shared);

    expect(await tiered.getPrefix(["a", "b", "c"])).toEqual([block(1), block(2)]);
    expect(shared.stats().shared?.hitBlocks).toBe(1); // only b came from Redis
    expect(memory.stats().blocks).toBe(2); // b promoted
    await tiered.getPrefix(["a", "b"]);
    expect(shared.stats().shared?.hitBlocks).toBe(1); // now served from memory

    await tiered.put([["c", block(3)]]);
    expect(await memory.getPrefix(["c"])).toHaveLength(1); // memory has it at once
    const deadline = Date.now() + 5000;
    while ((await redis.exists(shared.redisKey("c"))) === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(await shared.getPrefix(["c"])).toEqual([block(3)]);
    expect(tiered.stats()).toMatchObject({ tier: "memory+redis", blocks: 3, shared: { writtenBlocks: 3 } });
  });

  it("keeps tenants apart: the same prompt under another cache salt misses in Redis", async () => {
    const shared = store();
    const writer = new PrefixCache(new TieredBlockStore(new MemoryBlockStore(1 << 20), shared), "tiny");
    const prompt = Array.from({ length: 48 }, (_, i) => i * 31);
    const keys = writer.keys(prompt, "tenant-a");
    await shared.put(keys.map((key, i) => [key, block(i)] as const));

    const reader = () => new PrefixCache(new TieredBlockStore(new MemoryBlockStore(1 << 20), shared), "tiny");
    expect((await reader().lookup(reader().keys(prompt, "tenant-a"))).tokens).toBe(48);
    expect((await reader().lookup(reader().keys(prompt, "tenant-b"))).tokens).toBe(0);
    expect((await reader().lookup(reader().keys(prompt))).tokens).toBe(0);
  });
});
