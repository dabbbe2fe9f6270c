import { describe, expect, it } from "vitest";
import { blockKeys, MemoryBlockStore, PrefixCache } from "../src/index.js";

const block = (fill: number, floats = 8) => new Float32Array(floats).fill(fill);

describe("MemoryBlockStore", () => {
  it("returns the longest stored prefix and stops at the first gap", async () => {
    const store = new MemoryBlockStore(1 << 20);
    await store.put([
      ["a", block(1)],
      ["b", block(2)],
      ["d", block(4)],
    ]);
    const found = await store.getPrefix(["a", "b", "c", "d"]);
    expect(found.map((v) => v[0])).toEqual([1, 2]);
    expect(await store.getPrefix(["x", "a"])).toEqual([]);
  });

  it("evicts least recently used blocks to stay within its byte limit", async () => {
    const store = new MemoryBlockStore(3 * 32); // three 8-float blocks
    await store.put([
      ["a", block(1)],
      ["b", block(2)],
      ["c", block(3)],
    ]);
    await store.getPrefix(["c"]); // c is now more recent than a and b
    await store.put([["d", block(4)]]);
    const stats = store.stats();
    expect(stats.bytes).toBeLessThanOrEqual(stats.maxBytes);
    expect(stats).toMatchObject({ blocks: 3, evictions: 1 });
    expect(await store.getPrefix(["c"])).toHaveLength(1);
    expect(await store.getPrefix(["d"])).toHaveLength(1);
  });

  it("evicts a chain's later blocks before its first ones", async () => {
    const store = new MemoryBlockStore(2 * 32);
    await store.put([
      ["p", block(1)],
      ["c", block(2)],
    ]);
    await store.getPrefix(["p", "c"]);
    await store.put([["other", block(3)]]);
    expect(await store.getPrefix(["p"])).toHaveLength(1);
    expect(await store.getPrefix(["c"])).toHaveLength(0);
  });

  it("never stores a block larger than the whole limit", async () => {
    const store = new MemoryBlockStore(16);
    await store.put([["big", block(1)]]);
    expect(store.stats()).toMatchObject({ blocks: 0, bytes: 0 });
  });
});

describe("recentKeys", () => {
  it("lists the memory tier's keys most recently used first, bounded, through every layer", async () => {
    const memory = new MemoryBlockStore(1 << 20);
    await memory.put([
      ["a", block(1)],
      ["b", block(2)],
      ["c", block(3)],
    ]);
    await memory.getPrefix(["b"]);
    expect(memory.recentKeys(10)).toEqual(["b", "a", "c"]);
    expect(memory.recentKeys(2)).toEqual(["b", "a"]);
    expect(new PrefixCache(memory, "tiny").recentKeys(1)).toEqual(["b"]);
  });
});

describe("PrefixCache", () => {
  it("reuses the longest cached block prefix of a prompt and counts hits", async () => {
    const cache = new PrefixCache(new MemoryBlockStore(1 << 20), "tiny");
    const prompt = Array.from({ length: 40 }, (_, i) => i);
    const keys = cache.keys(prompt);
    expect(keys).toEqual(blockKeys(prompt, { modelId: "tiny" }));
    expect(await cache.lookup(keys)).toMatchObject({ tokens: 0, blocks: [] });
    await cache.insert(keys, 0, [block(1), block(2)]);

    const longer = [...prompt, ...Array.from({ length: 30 }, (_, i) => 1000 + i)];
    const hit = await cache.lookup(cache.keys(longer));
    expect(hit.tokens).toBe(32);
    expect(hit.blocks.map((v) => v[0])).toEqual([1, 2]);
    expect(await cache.lookup(cache.keys(prompt, "another-tenant"))).toMatchObject({ tokens: 0 });
    expect(cache.stats()).toMatchObject({ queries: 3, hits: 1, hitTokens: 32, blocks: 2, blockSize: 16 });
  });
});
