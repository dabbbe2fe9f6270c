// Cluster mode on a real 3-master Redis Cluster (LLM_REDIS_CLUSTER: every Redis user on ioredis Cluster clients):
// real gateway and runner processes serve concurrent streams, survive a SIGKILLed runner, and share a tenant's
// prefix blocks across runners through the Cluster's prefix tier.
import { randomUUID } from "node:crypto";
import { ModelRunnerService, type RunnerFinal } from "@llm/proto";
import { createClient } from "@llm/rpc";
import { type RedisClusterFixture, type RunningService, startRedisCluster } from "@llm/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Cluster,
  expectConcurrentStreamsSpread,
  expectLeavingClientEndsRequest,
  expectRunnerKillLosesNothing,
  KEYS,
  KILLABLE,
  keysMatching,
  MODEL,
  stream,
} from "./cluster-kit.js";

const REQUESTS = 60;
let fixture: RedisClusterFixture;
let cluster: Cluster;

beforeAll(async () => {
  fixture = await startRedisCluster(3);
  cluster = await new Cluster(fixture.urls.join(","), { LLM_REDIS_CLUSTER: "true", ...KILLABLE }).start(2);
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
  await fixture?.stop();
});

/** Keys matching `pattern` on each master. */
const perMaster = (pattern: string) => Promise.all(fixture.urls.map((url) => keysMatching(url, pattern)));

/** A greedy generation straight on one runner process (bypassing routing, to choose who computes the prefix). */
async function generateOn(runner: RunningService, promptTokenIds: number[], cacheSalt: string) {
  const client = createClient(ModelRunnerService, runner.address);
  const ids: number[] = [];
  let final: RunnerFinal | undefined;
  const request = { requestId: randomUUID(), model: MODEL, promptTokenIds, maxTokens: 8, ignoreEos: true, cacheSalt };
  try {
    for await (const { event } of client.generate({ ...request, sampling: { temperature: 0 } })) {
      if (event.case === "token") ids.push(event.value.tokenId);
      if (event.case === "final") final = event.value;
    }
  } finally {
    client.close();
  }
  return { ids, cached: final?.usage?.cachedPromptTokens };
}

describe("cluster mode on a Redis Cluster", () => {
  it("serves concurrent streams over 2 runners: all complete, every index once; the model's keys share one master", async () => {
    await expectConcurrentStreamsSpread(cluster, REQUESTS, 8, 60_000);

    // The hash tag keeps the queue, streams and routing keys of a model in one slot, so on one master.
    const modelKeys = await perMaster(`${KEYS.prefix}:${KEYS.queueName}*`);
    expect(modelKeys.filter((keys) => keys.length > 0)).toHaveLength(1);
    expect(await keysMatching(cluster.redisUrl, KEYS.tokens("*"))).toEqual([]);
  }, 120_000);

  it("a client that goes away ends its request on the runner and leaves no stream", async () => {
    await expectLeavingClientEndsRequest(cluster);
  });

  it("a runner SIGKILLed mid-stream loses nothing: its requests finish on the other with the uninterrupted text", async () => {
    await expectRunnerKillLosesNothing(cluster, 120);
  }, 120_000);

  it("a tenant's prefix computed by one runner is reused by another through the Cluster; another tenant misses", async () => {
    const [, survivor] = cluster.runners;
    const fresh = await cluster.addRunner();
    const prompt = Array.from({ length: 160 }, (_, i) => (i * 7919 + 17) % 50_000); // 10 full blocks
    const tenant = `tenant-${randomUUID()}`;
    // Earlier tests' requests (a takeover's continuation too) may have left blocks of their own: count from here.
    const before = (await keysMatching(cluster.redisUrl, "llm:kv:*")).length;
    const miss = await generateOn(survivor, prompt, tenant);
    expect(miss.cached).toBe(0);
    // Written in the background, spread over the masters by their keys.
    await expect
      .poll(async () => (await keysMatching(cluster.redisUrl, "llm:kv:*")).length - before, { timeout: 5000 })
      .toBe(10);
    expect((await perMaster("llm:kv:*")).filter((keys) => keys.length > 0).length).toBeGreaterThan(1);

    const hit = await generateOn(fresh, prompt, tenant);
    expect(hit.cached).toBe(144); // every full block but the one holding the last prompt token (recomputed)
    expect(hit.ids).toEqual(miss.ids);
    const other = await generateOn(fresh, prompt, `other-${randomUUID()}`);
    expect(other.cached).toBe(0);
    expect(other.ids).toEqual(miss.ids);
  }, 120_000);

  it("routes a repeated prompt to the runner holding its prefix (SMISMEMBER over the runners' sets on the Cluster)", async () => {
    const request = {
      model: MODEL,
      prompt: {
        case: "text" as const,
        value: "A long shared system prompt for routing on a Redis Cluster. ".repeat(6),
      },
      maxTokens: 4,
      cacheSalt: `tenant-${randomUUID()}`,
    };
    const before = cluster.servedPerRunner();
    const first = await stream(cluster.client, request);
    expect(first.final?.usage?.cachedPromptTokens).toBe(0);
    const server = () => cluster.servedPerRunner().findIndex((n, r) => n > before[r]);
    await expect.poll(server, { timeout: 5000 }).toBeGreaterThanOrEqual(0);
    const holder = server();
    await new Promise((resolve) => setTimeout(resolve, 1500)); // the runners' next hot-block heartbeat

    const again = cluster.servedPerRunner();
    const repeat = await stream(cluster.client, request);
    expect(repeat.final?.usage?.cachedPromptTokens).toBeGreaterThan(0);
    await expect.poll(() => cluster.servedPerRunner()[holder] - again[holder], { timeout: 5000 }).toBe(1);
    expect(cluster.gateway.stderr()).not.toMatch(/KV-aware routing failed/);
  }, 60_000);
});
