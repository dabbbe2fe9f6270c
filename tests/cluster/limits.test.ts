// The bounded queue: a model with no free runner fills its queue; past LLM_MAX_QUEUE_DEPTH waiting requests or
// LLM_MAX_QUEUE_TOKENS waiting tokens the gateway answers RESOURCE_EXHAUSTED with a retry hint, and requests that
// give up leave the queue and give their tokens back.
import { isLlmError, type LlmError } from "@llm/errors";
import { announceModel, waitingJobsKey } from "@llm/queue";
import { startRedisServer } from "@llm/testing";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cluster, KEYS, MODEL, seededRequest, stream } from "./cluster-kit.js";

const DEPTH = 2;
const TOKENS = 1000;
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
    LLM_MAX_QUEUE_TOKENS: String(TOKENS),
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

  it("turns requests past LLM_MAX_QUEUE_TOKENS waiting tokens away too; a request over the bound alone is invalid", async () => {
    const waitingTokens = async () => Number((await client.get(KEYS.waitingTokens)) ?? 0);
    const queued = (maxTokens: number) => {
      const controller = new AbortController();
      const done = stream(cluster.client, seededRequest(maxTokens, maxTokens), { signal: controller.signal });
      return {
        leave: async () => {
          controller.abort();
          await done.catch(() => {});
        },
      };
    };
    await expect.poll(waitingTokens, { timeout: 15_000 }).toBe(0); // the previous test's requests have left
    const big = queued(600);
    await expect.poll(() => client.llen(waitingJobsKey(MODEL)), { timeout: 15_000 }).toBe(1);
    const held = await waitingTokens();
    expect(held).toBeGreaterThan(600); // prompt + max_tokens

    // One request waits, so the depth bound holds; the tokens do not.
    const refused = (await stream(cluster.client, seededRequest(1, 600)).catch((err) => err)) as LlmError;
    expect(isLlmError(refused) && refused.code).toBe("resource_exhausted");
    expect(refused.message).toMatch(/LLM_MAX_QUEUE_TOKENS 1000/);
    expect(refused.retryAfterMs).toBe(RETRY_AFTER_MS);
    const small = queued(300); // fits beside it
    await expect.poll(() => client.llen(waitingJobsKey(MODEL)), { timeout: 15_000 }).toBe(2);

    await big.leave();
    await small.leave();
    await expect.poll(waitingTokens, { timeout: 15_000 }).toBe(0);
    const again = queued(600); // the tokens were given back
    await expect.poll(waitingTokens, { timeout: 15_000 }).toBe(held);
    await again.leave();

    const tooBig = (await stream(cluster.client, seededRequest(2, 1000)).catch((err) => err)) as LlmError;
    expect(isLlmError(tooBig) && tooBig.code).toBe("invalid_argument");
    expect(tooBig.message).toMatch(/more than model "tiny" queues at once \(LLM_MAX_QUEUE_TOKENS 1000\)/);
  }, 60_000);
});
