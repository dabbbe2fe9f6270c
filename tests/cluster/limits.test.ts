// The bounded queue: a model with no free runner fills its queue; past LLM_MAX_QUEUE_DEPTH the gateway answers
// RESOURCE_EXHAUSTED with a retry hint, and requests that give up leave the queue.
import { isLlmError, type LlmError } from "@llm/errors";
import { announceModel, waitingJobsKey } from "@llm/queue";
import { startRedisServer } from "@llm/testing";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cluster, MODEL, seededRequest, stream } from "./cluster-kit.js";

const DEPTH = 2;
const RETRY_AFTER_MS = 1500;
let redis: Awaited<ReturnType<typeof startRedisServer>>;
let client: Redis;
let cluster: Cluster;

beforeAll(async () => {
  redis = await startRedisServer();
  client = new Redis(redis.url);
  // The model is announced but no runner works its queue, so every job waits.
  await announceModel(client, { id: MODEL, contextLength: 1024, vocabSize: 50_257 });
  cluster = await new Cluster(redis.url, {
    LLM_MAX_QUEUE_DEPTH: String(DEPTH),
    LLM_QUEUE_RETRY_AFTER_MS: String(RETRY_AFTER_MS),
  }).start(0);
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
  client?.disconnect();
  await redis?.stop();
});

describe("cluster queue bound", () => {
  it("turns requests past LLM_MAX_QUEUE_DEPTH away with RESOURCE_EXHAUSTED and a retry hint; leavers free their place", async () => {
    const waiting = Array.from({ length: DEPTH }, (_, i) => {
      const controller = new AbortController();
      return { controller, done: stream(cluster.client, seededRequest(i, 4), { signal: controller.signal }) };
    });
    // KEDA scales runners on this list's length.
    await expect.poll(() => client.llen(waitingJobsKey(MODEL)), { timeout: 15_000 }).toBe(DEPTH);

    const refused = (await stream(cluster.client, seededRequest(9, 4)).catch((err) => err)) as LlmError;
    expect(isLlmError(refused) && refused.code).toBe("resource_exhausted");
    expect(refused.message).toMatch(/LLM_MAX_QUEUE_DEPTH/);
    expect(refused.retryAfterMs).toBe(RETRY_AFTER_MS);

    for (const { controller, done } of waiting) {
      controller.abort();
      await done.catch(() => {});
    }
    // Their jobs left the queue, so new requests are admitted again.
    await expect.poll(() => client.llen(waitingJobsKey(MODEL)), { timeout: 15_000 }).toBe(0);
    const admitted = new AbortController();
    const again = stream(cluster.client, seededRequest(10, 4), { signal: admitted.signal });
    await expect.poll(() => client.llen(waitingJobsKey(MODEL)), { timeout: 15_000 }).toBe(1);
    admitted.abort();
    await again.catch(() => {});
  }, 60_000);
});
