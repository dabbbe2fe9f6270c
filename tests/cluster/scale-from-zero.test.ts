// Scale to zero with real processes: the model's runners have all gone (the catalogue in Redis still names the
// model, as after KEDA scaled them to zero). A request waits on the queue within its deadline and is served once a
// runner starts; one whose deadline passes first gets DEADLINE_EXCEEDED and leaves nothing queued.
import { isLlmError } from "@llm/errors";
import { FinishReason } from "@llm/proto";
import { startRedisServer } from "@llm/testing";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cluster, expectEveryIndexOnce, KEYS, keysMatching, seededRequest, stream } from "./cluster-kit.js";

let redis: Awaited<ReturnType<typeof startRedisServer>>;
let client: Redis;
let cluster: Cluster;

beforeAll(async () => {
  redis = await startRedisServer();
  client = new Redis(redis.url);
  // One runner announces the model, then leaves (SIGTERM, as a scale-in stops it): zero runners.
  cluster = await new Cluster(redis.url).start(1);
  await cluster.runners[0].stop(10_000);
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
  client?.disconnect();
  await redis?.stop();
});

/** Nothing of the model's waiting work is left in Redis. */
async function expectNothingQueued(): Promise<void> {
  expect(await client.llen(KEYS.waitingList)).toBe(0);
  expect(await client.zcard(KEYS.reservations)).toBe(0);
  expect(Number((await client.get(KEYS.waitingTokens)) ?? 0)).toBe(0);
  expect(await keysMatching(redis.url, KEYS.tokens("*"))).toEqual([]);
}

describe("scale to zero", () => {
  it("with no runner, a request whose deadline passes gets DEADLINE_EXCEEDED and leaves nothing queued", async () => {
    const waited = stream(cluster.client, seededRequest(1, 8), { deadline: Date.now() + 2000 });
    await expect.poll(() => client.llen(KEYS.waitingList), { timeout: 2000 }).toBe(1); // it did wait on the queue
    await expect(waited).rejects.toSatisfy((err) => isLlmError(err) && err.code === "deadline_exceeded");
    await expect.poll(expectNothingQueued, { timeout: 5000 }).toBeUndefined();
  }, 30_000);

  it("a request sent with no runner is served once a runner starts", async () => {
    const sent = Date.now();
    const served = stream(cluster.client, seededRequest(2, 32), { deadline: sent + 90_000 });
    await expect.poll(() => client.llen(KEYS.waitingList), { timeout: 2000 }).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 1500)); // no runner for a while
    const starting = Date.now();
    await cluster.addRunner();
    const out = await served;
    expect(out.final?.finishReason).toBeOneOf([FinishReason.LENGTH, FinishReason.EOS]);
    expectEveryIndexOnce(out);
    console.log(JSON.stringify({ waitedWithoutRunnerMs: starting - sent, runnerStartToDoneMs: Date.now() - starting }));
    await expect.poll(expectNothingQueued, { timeout: 5000 }).toBeUndefined();
  }, 120_000);
});
