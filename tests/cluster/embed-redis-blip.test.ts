// An embedding in flight across a Redis restart (a redis-server with AOF shut down and restarted on its port, as in
// redis-blip.test.ts): within LLM_REDIS_OUTAGE_WINDOW_MS no request is lost. The embedder runs on, its response waits
// for Redis, the gateway keeps reading, and every client gets the vectors the embedder computes directly.
import { EmbeddingService } from "@llm/proto";
import { runningJobsKey } from "@llm/queue";
import { createClient } from "@llm/rpc";
import type { RunningService } from "@llm/testing";
import { Redis } from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type AofRedis, aofRedis } from "./aof-redis.js";
import { Cluster } from "./cluster-kit.js";
import { EMBED_MODEL as MODEL, startClusterEmbedder } from "./embed-kit.js";

let redis: AofRedis;
let cluster: Cluster;
let embedder: RunningService;

beforeAll(async () => {
  redis = await aofRedis();
  cluster = await new Cluster(redis.url).start(0);
  embedder = await startClusterEmbedder(redis.url);
}, 120_000);

afterAll(async () => {
  await embedder?.stop(5000);
  await cluster?.stop();
  await redis?.stop();
});

/** Why jobs of the model failed, as BullMQ recorded it. */
async function failedReasons(): Promise<string[]> {
  const reader = new Redis(redis.url);
  try {
    const ids = await reader.zrange(`llm:{${MODEL}}:failed`, "0", "-1");
    return Promise.all(ids.map(async (id) => (await reader.hget(`llm:{${MODEL}}:${id}`, "failedReason")) ?? "?"));
  } finally {
    reader.disconnect();
  }
}

it("a Redis restart within the window loses no embedding request: each gets the embedder's own vectors", async () => {
  const inputs = (r: number) =>
    Array.from({ length: 64 }, (_, i) => `request ${r} passage ${i}: ${"lorem ipsum dolor sit amet ".repeat(60)}`);
  const request = (r: number) => ({
    model: MODEL,
    inputs: inputs(r).map((value) => ({ input: { case: "text" as const, value } })),
  });
  const viaGateway = createClient(EmbeddingService, cluster.gateway.address);
  const direct = createClient(EmbeddingService, embedder.address);
  const watcher = new Redis(redis.url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
  watcher.on("error", () => {});
  try {
    const answers = Array.from({ length: 6 }, (_, r) =>
      viaGateway.embed(request(r), { deadline: Date.now() + 120_000 }).then(
        (response) => response,
        (err: unknown) => err,
      ),
    );
    // Restart once the embedder is running jobs (they take seconds each).
    await expect.poll(() => watcher.llen(runningJobsKey(MODEL)), { timeout: 30_000, interval: 20 }).toBeGreaterThan(0);
    watcher.disconnect();
    await redis.restart(800);
    const settled = await Promise.all(answers);
    const failed = await failedReasons();
    for (const [r, answer] of settled.entries()) {
      expect(answer, `${answer}; failed jobs: ${failed.join("; ")}`).toHaveProperty("embeddings");
      const got = (answer as { embeddings: { values: number[] }[] }).embeddings.map((e) => e.values);
      const reference = (await direct.embed(request(r))).embeddings.map((e) => e.values);
      for (const [i, vector] of got.entries()) {
        for (const [d, v] of vector.entries()) expect(Math.abs(v - reference[i][d])).toBeLessThan(1e-5);
      }
    }
  } finally {
    viaGateway.close();
    direct.close();
    watcher.disconnect();
  }
}, 180_000);
