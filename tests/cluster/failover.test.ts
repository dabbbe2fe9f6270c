// Failures in cluster mode, each with real processes: a runner SIGKILLed mid-stream, a gateway SIGKILLed
// mid-stream (the client resumes), and redis-server stopped and restarted under load.
import { isLlmError } from "@llm/errors";
import { FinishReason } from "@llm/proto";
import { startRedisServer } from "@llm/testing";
import { afterAll, describe, expect, it } from "vitest";
import {
  Cluster,
  expectResumedAfterGatewayStops,
  expectRunnerKillLosesNothing,
  FAST_TAKEOVER,
  KILLABLE,
  MODEL,
  seededRequest,
  stream,
  withId,
} from "./cluster-kit.js";

const LONG = 120; // tokens: long enough that a kill lands mid-stream
const clusters: Cluster[] = [];
const redisServers: { stop(): Promise<void> }[] = [];

afterAll(async () => {
  for (const cluster of clusters) await cluster.stop();
  for (const redis of redisServers) await redis.stop();
});

/** A cluster on its own redis-server (these tests stop and restart it). */
async function isolatedCluster(runners: number, env: Record<string, string> = {}) {
  const redis = await startRedisServer();
  redisServers.push(redis);
  const cluster = new Cluster(redis.url, { ...FAST_TAKEOVER, ...env });
  clusters.push(cluster);
  await cluster.start(runners);
  return { redis, cluster };
}

describe("cluster failover", () => {
  it("a runner SIGKILLed mid-stream loses nothing: its requests finish elsewhere with the uninterrupted text", async () => {
    const { cluster } = await isolatedCluster(2, KILLABLE);
    await expectRunnerKillLosesNothing(cluster, LONG);
  }, 120_000);

  it("a client resumes its stream by request id from the last index it saw, after its gateway was SIGKILLed", async () => {
    const { cluster } = await isolatedCluster(1);
    await expectResumedAfterGatewayStops(cluster, "SIGKILL", seededRequest(7, LONG));
  }, 120_000);

  it("only the request's own API key may resume it, on any gateway: another key finds nothing", async () => {
    const { cluster } = await isolatedCluster(1, { LLM_API_KEYS: "key-a,key-b" });
    const as = (key: string) => ({ metadata: { authorization: `Bearer ${key}` } });
    const resume = (key: string, resumeFromIndex: number) =>
      stream(cluster.client, { model: MODEL, requestId: "owned", resumeFromIndex }, as(key));
    const notFound = (err: unknown) => isLlmError(err) && err.code === "not_found";
    const first = cluster.gateway;
    let lastIndex = -1;
    await expect(
      stream(cluster.client, withId(seededRequest(9, 900), "owned"), as("key-a"), (received) => {
        lastIndex = received.indices.at(-1) ?? -1;
        if (received.indices.length === 10) first.process.kill("SIGKILL");
      }),
    ).rejects.toSatisfy((err) => isLlmError(err) && err.code === "unavailable");

    await cluster.startGateway();
    await expect(resume("key-b", lastIndex + 1)).rejects.toSatisfy(notFound);
    const rest = await resume("key-a", lastIndex + 1);
    expect(rest.indices[0]).toBe(lastIndex + 1);
    expect(rest.final?.finishReason).toBe(FinishReason.LENGTH);
  }, 120_000);

  it("a gateway stopped gracefully (SIGTERM) leaves the streams it cuts running and resumable on another", async () => {
    // A stream far longer than the gateway's drain, so the drain ends by cutting it.
    const { cluster } = await isolatedCluster(1, { LLM_SHUTDOWN_GRACE_MS: "200" });
    await expectResumedAfterGatewayStops(cluster, "SIGTERM", seededRequest(8, 900));
  }, 120_000);

  it("redis-server stopped and restarted mid-load: requests complete or fail UNAVAILABLE, none past its deadline, then it serves again", async () => {
    const { redis, cluster } = await isolatedCluster(2);
    const port = Number(new URL(redis.url).port);
    const DEADLINE_MS = 30_000;
    const started = Date.now();
    let streaming = 0;
    let restarted: Promise<unknown> | undefined;
    const outcomes = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        stream(cluster.client, seededRequest(i, 200), { deadline: started + DEADLINE_MS }, (received) => {
          if (received.indices.length !== 1) return;
          streaming += 1;
          if (streaming === 5 && !restarted) {
            restarted = (async () => {
              await redis.stop();
              await new Promise((resolve) => setTimeout(resolve, 1000));
              redisServers.push(await startRedisServer(port));
            })();
          }
        }).then(
          (out) => ({ ok: out.final?.finishReason }),
          (err) => ({ failed: isLlmError(err) ? err.code : String(err), at: Date.now() }),
        ),
      ),
    );
    await restarted;
    for (const outcome of outcomes) {
      if ("ok" in outcome) expect(outcome.ok).toBeOneOf([FinishReason.LENGTH, FinishReason.EOS]);
      else expect(outcome).toMatchObject({ failed: "unavailable" });
    }
    expect(outcomes.some((o) => "failed" in o)).toBe(true); // the outage did hit requests in flight
    expect(Date.now() - started).toBeLessThan(DEADLINE_MS + 5000);

    // Same processes, no restart: the services reconnect and serve again.
    await expect
      .poll(
        async () => {
          const out = await stream(cluster.client, seededRequest(99, 8)).catch(() => undefined);
          return out?.final?.finishReason;
        },
        { timeout: 30_000, interval: 500 },
      )
      .toBeOneOf([FinishReason.LENGTH, FinishReason.EOS]);
  }, 120_000);
});
