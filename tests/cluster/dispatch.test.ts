// Cluster dispatch: 3 runner processes behind one gateway, all through a real Redis (BullMQ queue, token streams).
import { isLlmError } from "@llm/errors";
import { startRedisServer } from "@llm/testing";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Cluster,
  expectConcurrentStreamsSpread,
  expectLeavingClientEndsRequest,
  KEYS,
  keysMatching,
  seededRequest,
  stream,
} from "./cluster-kit.js";

const REQUESTS = 200;
const MAX_TOKENS = 8;
const KEEP_FINISHED = 10;
let cluster: Cluster;
let redis: Awaited<ReturnType<typeof startRedisServer>>;

// Its own redis-server: runners of other test files on a shared Redis would work the same model's queue.
beforeAll(async () => {
  redis = await startRedisServer();
  cluster = await new Cluster(redis.url, { LLM_QUEUE_KEEP_FINISHED: String(KEEP_FINISHED) }).start(3);
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
  await redis?.stop();
});

describe("cluster dispatch", () => {
  it("serves 200 concurrent streams over 3 runners: every one completes, every index once, all runners used", async () => {
    await expectConcurrentStreamsSpread(cluster, REQUESTS, MAX_TOKENS, 100_000);
  }, 120_000);

  it("leaves no request stream or token reservation behind, and keeps only the configured number of finished jobs", async () => {
    await stream(cluster.client, seededRequest(1, 4));
    expect(await keysMatching(cluster.redisUrl, KEYS.tokens("*"))).toEqual([]);
    const redis = new Redis(cluster.redisUrl);
    expect([await redis.get(KEYS.waitingTokens), await redis.zcard(KEYS.reservations)]).toEqual(["0", 0]);
    redis.disconnect();
    const keys = await keysMatching(cluster.redisUrl, `${KEYS.prefix}:${KEYS.queueName}:*`);
    const jobs = keys.filter((key) => /:\d+$/.test(key)); // job hashes; the rest is the queue's own bookkeeping
    expect(jobs.length).toBeGreaterThan(0);
    expect(jobs.length).toBeLessThanOrEqual(2 * KEEP_FINISHED); // completed + failed kept
  });

  it("a client that goes away frees the runner's slot and deletes its stream", async () => {
    await expectLeavingClientEndsRequest(cluster);
  });

  it("a deadline that passes ends the request with DEADLINE_EXCEEDED and frees the runner's slot", async () => {
    const request = { ...seededRequest(6, 900), requestId: "too-slow" };
    await expect(stream(cluster.client, request, { deadline: Date.now() + 1500 })).rejects.toSatisfy(
      (err) => isLlmError(err) && err.code === "deadline_exceeded",
    );
    await expect
      .poll(() => cluster.runnerEnded("too-slow", "cancelled"), {
        timeout: 15_000,
      })
      .toBe(true);
    // The runner ends it at the deadline it carries; the gateway deletes the stream on its own clock (later, on a
    // loaded box).
    await expect.poll(() => keysMatching(cluster.redisUrl, KEYS.tokens("too-slow")), { timeout: 15_000 }).toEqual([]);
  });

  it("refuses a request id already in flight anywhere in the cluster", async () => {
    const controller = new AbortController();
    const first = stream(
      cluster.client,
      { ...seededRequest(4, 900), requestId: "twice" },
      { signal: controller.signal },
    );
    await expect.poll(() => keysMatching(cluster.redisUrl, KEYS.tokens("twice"))).toHaveLength(1);
    await expect(stream(cluster.client, { ...seededRequest(5, 4), requestId: "twice" })).rejects.toSatisfy(
      (err) => isLlmError(err) && err.code === "invalid_argument" && /already in flight/.test(err.message),
    );
    controller.abort();
    await first.catch(() => {});
  });
});
