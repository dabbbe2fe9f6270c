// The engine over a real Redis tier: a slow Redis lookup for one admission must not stall the running batch.
import { randomUUID } from "node:crypto";
import { silentLog } from "@llm/log";
import { connectSharedTier, RedisBlockStore } from "@llm/prefix-cache";
import { redisTarget } from "@llm/redis";
import type { SamplingParams } from "@llm/sampling";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Engine } from "../src/index.js";
import { collect, request, tinyEngine } from "./helpers.js";

const prompt = (seed: number, length = 64) => Array.from({ length }, (_, i) => (i * 7919 + seed * 131) % 50_000);
const PAUSE_MS = 1000;
let redis: ReturnType<typeof connectSharedTier>;
let engine: Engine<SamplingParams>;

beforeAll(async () => {
  redis = connectSharedTier(redisTarget(inject("redisUrl")), silentLog);
  await new Promise((resolve) => redis.once("ready", resolve));
  const sharedPrefixStore = new RedisBlockStore({
    redis,
    ttlSeconds: 60,
    keyPrefix: `test:${randomUUID()}:`,
    log: silentLog,
  });
  engine = await tinyEngine({ sharedPrefixStore });
});

afterAll(async () => {
  await engine?.close();
  redis?.disconnect();
});

describe("engine with a Redis tier", () => {
  it("keeps decoding running requests while a new request's Redis lookup is held up", async () => {
    const salt = randomUUID();
    const alone = await collect(engine.submit({ ...request("alone", prompt(2), 8), cacheSalt: salt }));

    let runningTokens = 0;
    const running = collect(engine.submit({ ...request("running", prompt(1), 400), cacheSalt: salt }), () => {
      runningTokens++;
    });
    while (runningTokens < 5) await new Promise((resolve) => setTimeout(resolve, 5));

    // Redis answers nobody for a second: the new request's lookup waits, the batch must not.
    const admin = new Redis(inject("redisUrl"));
    await new Promise((resolve) => admin.once("ready", resolve));
    await admin.call("CLIENT", "PAUSE", String(PAUSE_MS), "ALL");
    const before = runningTokens;
    let duringLookup = -1;
    const delayed = await collect(
      engine.submit({ ...request("delayed", prompt(2), 8), cacheSalt: `${salt}-2` }),
      () => {
        if (duringLookup < 0) duringLookup = runningTokens - before;
      },
    );
    admin.disconnect();
    engine.cancel("running");
    await running;

    expect(delayed.tokens).toEqual(alone.tokens); // a miss under another salt: same tokens
    expect(duringLookup).toBeGreaterThan(10);
  });
});
