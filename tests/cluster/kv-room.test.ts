// A runner takes a job only while its engine has a free batch slot AND KV room for the job's reservation
// (prompt + max_tokens): a runner with many slots but a small KV budget leaves the rest to another runner instead
// of taking jobs to wait in its own engine.
import { FinishReason, ModelRunnerService } from "@llm/proto";
import { createClient } from "@llm/rpc";
import { startRedisServer } from "@llm/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cluster, expectEveryIndexOnce, seededRequest, stream } from "./cluster-kit.js";

const MAX_TOKENS = 900;
/** tiny holds 1 KiB of KV per token: room for one request of ~910 tokens, not two; 8 slots all the same. */
const SMALL_KV = { LLM_KV_CACHE_BYTES: String(1500 * 1024), LLM_MAX_BATCH_SIZE: "8" };
let redis: Awaited<ReturnType<typeof startRedisServer>>;
let cluster: Cluster;

beforeAll(async () => {
  redis = await startRedisServer();
  cluster = await new Cluster(redis.url).start(1);
  await cluster.addRunner(SMALL_KV);
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
  await redis?.stop();
});

describe("taking jobs by KV room", () => {
  it("a runner short of KV room leaves jobs to another runner instead of queueing them in its engine", async () => {
    const [roomy, small] = cluster.runners;
    const info = createClient(ModelRunnerService, small.address);
    let peak = { running: 0, waiting: 0 };
    let polling = true;
    const poll = (async () => {
      while (polling) {
        const { running, waiting } = await info.info({});
        peak = { running: Math.max(peak.running, running), waiting: Math.max(peak.waiting, waiting) };
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    try {
      const outs = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          stream(cluster.client, seededRequest(i, MAX_TOKENS), { deadline: Date.now() + 90_000 }),
        ),
      );
      for (const out of outs) {
        expect(out.final?.finishReason).toBeOneOf([FinishReason.LENGTH, FinishReason.EOS]);
        expectEveryIndexOnce(out);
      }
    } finally {
      polling = false;
      await poll;
      info.close();
    }
    expect(peak.waiting).toBe(0); // never took a job it had no room for
    expect(peak.running).toBe(1);
    await expect.poll(() => cluster.servedPerRunner().reduce((a, b) => a + b), { timeout: 5000 }).toBe(6);
    expect(cluster.servedPerRunner()[cluster.runners.indexOf(roomy)]).toBeGreaterThanOrEqual(4);
  }, 120_000);
});
