import { Redis } from "ioredis";
import { describe, expect, inject, it } from "vitest";
import { pingRedis, startRedisServer } from "../src/redis.js";

describe("redis fixture", () => {
  it("provides a reachable Redis to every test", async () => {
    const client = new Redis(inject("redisUrl"));
    try {
      await client.set("llm:test:fixture", "ok", "EX", 10);
      expect(await client.get("llm:test:fixture")).toBe("ok");
    } finally {
      client.disconnect();
    }
  });

  it("starts a native redis-server on a free port and stops it", async () => {
    const server = await startRedisServer();
    expect(await pingRedis(server.url)).toBe(true);
    await server.stop();
    expect(await pingRedis(server.url, 200)).toBe(false);
  });
});
