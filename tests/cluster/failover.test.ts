// Failures in cluster mode, each with real processes: a runner SIGKILLed mid-stream, a gateway SIGKILLed
// mid-stream (the client resumes), and redis-server stopped and restarted under load, losing its data
// (redis-blip.test.ts restarts one that keeps it).
import { isLlmError } from "@llm/errors";
import { FinishReason, ModelRunnerService } from "@llm/proto";
import { createClient } from "@llm/rpc";
import { type RunningService, startRedisServer } from "@llm/testing";
import { afterAll, describe, expect, it } from "vitest";
import {
  Cluster,
  expectEveryIndexOnce,
  expectResumedAfterGatewayStops,
  expectRunnerKillLosesNothing,
  FAST_TAKEOVER,
  KILLABLE,
  MODEL,
  type Streamed,
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

  it("a runner frozen past its lock stops its copy when it thaws, and the stream stays whole for a resume", async () => {
    const { cluster } = await isolatedCluster(2);
    const request = seededRequest(11, 900);
    const reference = await stream(cluster.client, withId(request, "reference"));
    const busy = async (runner: RunningService) => {
      const client = createClient(ModelRunnerService, runner.address);
      try {
        return (await client.info({})).running > 0;
      } finally {
        client.close();
      }
    };
    let frozen: RunningService | undefined;
    let seen: Streamed | undefined;
    const gateway = cluster.gateway;
    await expect(
      stream(cluster.client, withId(request, "frozen"), {}, async (received) => {
        seen = { ...received, indices: [...received.indices] };
        if (received.indices.length !== 5) return;
        const running = await Promise.all(cluster.runners.map(busy));
        frozen = cluster.runners[running.indexOf(true)];
        frozen.process.kill("SIGSTOP");
        gateway.process.kill("SIGKILL"); // nobody deletes the stream now: it stays for a resume
      }),
    ).rejects.toSatisfy((err) => isLlmError(err) && err.code === "unavailable");
    // The other runner takes the job over and finishes it; then the frozen one thaws and must notice it lost it.
    await expect.poll(() => cluster.runnerEnded("frozen", "length"), { timeout: 30_000 }).toBe(true);
    frozen?.process.kill("SIGCONT");
    await expect.poll(() => cluster.runnerEnded("frozen", "cancelled"), { timeout: 10_000 }).toBe(true);

    await cluster.startGateway();
    const before = seen as Streamed; // set by the 5th delta at the latest
    const resumeFromIndex = (before.indices.at(-1) ?? -1) + 1;
    const rest = await stream(cluster.client, { model: MODEL, requestId: "frozen", resumeFromIndex });
    const whole = {
      ...rest,
      indices: [...before.indices, ...rest.indices],
      tokenIds: [...before.tokenIds, ...rest.tokenIds],
    };
    expectEveryIndexOnce(whole);
    expect(before.text + rest.text).toBe(reference.text);
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

  it("redis-server without AOF stopped and restarted mid-load (its data lost): requests complete or fail UNAVAILABLE, none past its deadline, then it serves again", async () => {
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
