// Redis blips with real processes: a redis-server with AOF (as compose and the k8s base run it) shut down and
// restarted on the same port mid-load. Within LLM_REDIS_OUTAGE_WINDOW_MS no stream is lost: runners generate on and
// hold their token events, gateways keep reading, and every stream ends with every index once and its final. An
// outage longer than the window fails the streams in flight with UNAVAILABLE soon after the window, not at their
// deadline.
import { isLlmError } from "@llm/errors";
import { FinishReason } from "@llm/proto";
import { afterAll, describe, expect, it } from "vitest";
import { type AofRedis, aofRedis } from "./aof-redis.js";
import { Cluster, expectEveryIndexOnce, seededRequest, stream } from "./cluster-kit.js";

const clusters: Cluster[] = [];
const servers: AofRedis[] = [];

afterAll(async () => {
  for (const cluster of clusters) await cluster.stop();
  for (const server of servers) await server.stop();
});

/**
 * `count` seeded streams of `tokens` tokens; once `inFlight` of them have 10 tokens, Redis is restarted after
 * `downMs` down. Each outcome: the stream, or the error's code and when it came.
 */
async function streamsAcrossRestart(count: number, tokens: number, inFlight: number, downMs: number, env = {}) {
  const redis = await aofRedis();
  servers.push(redis);
  const cluster = new Cluster(redis.url, env);
  clusters.push(cluster);
  await cluster.start(2);
  let restarting: { at: number; done: Promise<void> } | undefined;
  const midStream = new Set<number>();
  const outcomes = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      stream(cluster.client, seededRequest(i, tokens), { deadline: Date.now() + 180_000 }, (received) => {
        if (received.indices.length >= 10 && received.indices.length < tokens) midStream.add(i);
        if (midStream.size >= inFlight && !restarting) restarting = { at: Date.now(), done: redis.restart(downMs) };
      }).then(
        (out) => ({ out }),
        (err) => ({ code: isLlmError(err) ? err.code : String(err), at: Date.now() }),
      ),
    ),
  );
  expect(restarting).toBeDefined();
  await restarting?.done;
  return { cluster, outcomes, restartedAt: restarting?.at ?? 0, midStream: midStream.size };
}

describe("Redis blips (redis-server with AOF restarted mid-load)", () => {
  it("a restart within the window loses no stream: 40 streams in flight end whole, every index once, each with its final", async () => {
    // Two runners of 20 slots: all 40 streams are mid-generation when Redis goes away.
    const { outcomes, midStream } = await streamsAcrossRestart(40, 100, 40, 800, { LLM_MAX_BATCH_SIZE: "20" });
    expect(midStream).toBe(40);
    for (const outcome of outcomes) {
      expect(outcome).toHaveProperty("out");
      if (!("out" in outcome)) continue;
      expect(outcome.out.final?.finishReason).toBeOneOf([FinishReason.LENGTH, FinishReason.EOS]);
      expectEveryIndexOnce(outcome.out);
    }
  }, 240_000);

  it("an outage longer than the window fails the streams in flight with UNAVAILABLE soon after it, then serves again", async () => {
    const WINDOW_MS = 1000;
    const { cluster, outcomes, restartedAt } = await streamsAcrossRestart(8, 400, 4, 6000, {
      LLM_REDIS_OUTAGE_WINDOW_MS: String(WINDOW_MS),
    });
    const failed = outcomes.filter((o) => "code" in o);
    expect(failed.length).toBeGreaterThan(0);
    for (const outcome of failed) {
      expect(outcome).toMatchObject({ code: "unavailable" });
      // Reported about a window (plus one idle check) after Redis went away, well before it came back.
      if ("at" in outcome) expect(outcome.at - restartedAt).toBeLessThan(WINDOW_MS + 3000);
    }
    await expect
      .poll(async () => (await stream(cluster.client, seededRequest(99, 8)).catch(() => undefined))?.final, {
        timeout: 30_000,
        interval: 500,
      })
      .toBeDefined();
  }, 240_000);
});
