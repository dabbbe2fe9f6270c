// Embeddings in cluster mode: the gateway puts each request on its embedding model's BullMQ queue and embedders
// (real processes) pull the jobs and write the vectors to the request's stream. Shown here with a real Redis: the
// vectors are the embedder's own; a burst from two gateways at once over LLM_MAX_QUEUE_DEPTH admits exactly the bound
// and answers the rest 429 with a retry hint; deadlines and clients leaving take their jobs off the queue (or cancel
// them on the embedder: their inputs still waiting for a batch never run); an embedder killed holding jobs has them
// run again by another.
import { isLlmError } from "@llm/errors";
import { create, EmbeddingService, InfoResponseSchema } from "@llm/proto";
import { announceEmbeddingModel, clusterKeys, runningJobsKey, waitingJobsKey } from "@llm/queue";
import { createClient } from "@llm/rpc";
import { type RunningService, startRedisServer } from "@llm/testing";
import { Redis } from "ioredis";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cluster, keysMatching } from "./cluster-kit.js";
import { EMBED_MODEL as MODEL, startClusterEmbedder } from "./embed-kit.js";

const KEYS = clusterKeys(MODEL);
const DEPTH = 5;
const MAX_TOKENS = 200_000;
const RETRY_AFTER_MS = 1500;
const TEXTS = ["hello", "Crème brûlée and Zoë", "我爱北京天安门", "emoji 😀👍🏽", "word ".repeat(80), "a"];

let redis: Awaited<ReturnType<typeof startRedisServer>>;
let client: Redis;
let cluster: Cluster;
let http: string;
let secondHttp: string;
const embedders: RunningService[] = [];

async function addEmbedder(env: Record<string, string> = {}): Promise<RunningService> {
  const embedder = await startClusterEmbedder(redis.url, env, `embedder-${embedders.length}`);
  embedders.push(embedder);
  return embedder;
}

/** The vectors the embedder computes for `inputs` called directly (no queue): the reference. */
async function direct(embedder: RunningService, inputs: string[]): Promise<number[][]> {
  const grpc = createClient(EmbeddingService, embedder.address);
  try {
    const response = await grpc.embed({ inputs: inputs.map((value) => ({ input: { case: "text", value } })) });
    return response.embeddings.map(({ values }) => values);
  } finally {
    grpc.close();
  }
}

function expectClose(actual: number[][], expected: number[][]): void {
  expect(actual).toHaveLength(expected.length);
  for (const [i, vector] of actual.entries()) {
    expect(vector).toHaveLength(expected[i].length);
    for (const [d, v] of vector.entries()) expect(Math.abs(v - expected[i][d])).toBeLessThan(1e-5);
  }
}

async function post(url: string, body: unknown, signal?: AbortSignal) {
  const response = await fetch(`${url}/v1/embeddings`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal,
  });
  const json = (await response.json()) as { data?: { embedding: number[] }[]; error?: { message: string } };
  return { status: response.status, retryAfter: response.headers.get("retry-after"), json };
}

/** Nothing of finished requests stays behind: no reservation, no waiting tokens, no stream, no waiting job. */
async function expectQueueEmpty(): Promise<void> {
  // The gateway gives the reservation back and takes the job off the list side by side: wait for both.
  await expect.poll(() => client.zcard(KEYS.reservations), { timeout: 15_000 }).toBe(0);
  await expect.poll(() => client.llen(waitingJobsKey(MODEL)), { timeout: 15_000 }).toBe(0);
  expect(Number((await client.get(KEYS.waitingTokens)) ?? 0)).toBe(0);
  await expect.poll(() => keysMatching(redis.url, KEYS.tokens("*")), { timeout: 15_000 }).toEqual([]);
}

beforeAll(async () => {
  redis = await startRedisServer();
  client = new Redis(redis.url);
  cluster = await new Cluster(redis.url, {
    LLM_MAX_QUEUE_DEPTH: String(DEPTH),
    LLM_MAX_QUEUE_TOKENS: String(MAX_TOKENS),
    LLM_QUEUE_RETRY_AFTER_MS: String(RETRY_AFTER_MS),
  }).start(0); // no generation runner: embeddings only
  // As its embedders announce it (they do again when they start): every test may begin with none running.
  await announceEmbeddingModel(
    client,
    create(InfoResponseSchema, {
      model: MODEL,
      dimensions: 128,
      maxInputTokens: 512,
      pooling: "mean",
      normalized: true,
      maxInputs: 2048,
      vocabSize: 30_522,
      matryoshka: true,
    }),
  );
  http = await cluster.gateway.listening("gateway-http");
  secondHttp = await (await cluster.addGateway()).listening("gateway-http");
}, 180_000);

afterAll(async () => {
  for (const embedder of embedders) await embedder.stop(5000);
  await cluster?.stop();
  client?.disconnect();
  await redis?.stop();
});

describe("embeddings in cluster mode", () => {
  it("go through the model's queue: the embedder's own vectors, float and base64, with usage", async () => {
    const embedder = await addEmbedder();
    const openai = new OpenAI({ baseURL: `${http}/v1`, apiKey: "unused", maxRetries: 0 });
    const reference = await direct(embedder, TEXTS);
    const floats = await openai.embeddings.create({ model: MODEL, input: TEXTS, encoding_format: "float" });
    expectClose(
      floats.data.map((d) => d.embedding),
      reference,
    );
    expect(floats.usage.prompt_tokens).toBeGreaterThan(TEXTS.length * 2);
    const base64 = await openai.embeddings.create({ model: MODEL, input: TEXTS }); // the client's default: base64
    expectClose(
      base64.data.map((d) => d.embedding),
      reference,
    );
    // They were jobs: BullMQ keeps the finished ones.
    expect(await client.zcard(`${KEYS.prefix}:${KEYS.queueName}:completed`)).toBeGreaterThanOrEqual(2);
    // The gateway describes the model as its embedders announced it.
    const grpc = createClient(EmbeddingService, cluster.gateway.address);
    try {
      const info = await grpc.info({ model: MODEL });
      expect(info).toMatchObject({ model: MODEL, dimensions: 128, maxInputs: 2048, pooling: "mean", matryoshka: true });
      await expect(grpc.info({ model: "nope" })).rejects.toMatchObject({ code: "not_found" });
    } finally {
      grpc.close();
    }
    // Bad requests are refused at the gateway, before the queue.
    const tooMany = await post(http, { model: MODEL, input: Array.from({ length: 2049 }, () => "x") });
    expect(tooMany.status).toBe(400);
    const tooBig = await post(http, { model: MODEL, input: Array.from({ length: 2048 }, () => "x".repeat(200)) });
    expect(tooBig.status).toBe(400);
    expect(tooBig.json.error?.message).toMatch(/LLM_MAX_QUEUE_TOKENS/);
    expect((await post(http, { model: "nope", input: "x" })).status).toBe(404);
    // Refused by the embedder: the error comes back through the queue and the stream.
    const wide = await post(http, { model: MODEL, input: "x", dimensions: 129 });
    expect([wide.status, wide.json.error?.message]).toEqual([400, expect.stringContaining("from 1 to 128")]);
    const long = await post(http, { model: MODEL, input: "word ".repeat(600), truncate: false });
    expect([long.status, long.json.error?.message]).toEqual([400, expect.stringContaining("at most 512")]);
    await expectQueueEmpty();
    await embedder.stop(5000);
  }, 120_000);

  it("a burst from two gateways over LLM_MAX_QUEUE_DEPTH: exactly the bound is admitted, the rest 429 with a retry hint", async () => {
    // No embedder is up: every admitted request waits. Both gateways race for the same bound.
    const requests = Array.from({ length: 40 }, (_, i) =>
      post(i % 2 === 0 ? http : secondHttp, { model: MODEL, input: [`burst ${i}`, TEXTS[i % TEXTS.length]] }),
    );
    await expect.poll(() => client.llen(waitingJobsKey(MODEL)), { timeout: 15_000 }).toBe(DEPTH);
    // Everyone past the bound has been answered already, 429 with the hint; the bound never overshot.
    const settled = await Promise.race([
      Promise.all(requests.map((r) => r.then((answer) => answer))),
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 3000)),
    ]);
    expect(settled).toBeUndefined(); // the admitted ones still wait for an embedder
    expect(await client.zcard(KEYS.reservations)).toBe(DEPTH);

    const embedder = await addEmbedder();
    const answers = await Promise.all(requests);
    const ok = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status === 429);
    expect(ok).toHaveLength(DEPTH);
    expect(refused).toHaveLength(40 - DEPTH);
    for (const answer of refused) {
      expect(answer.retryAfter).toBe(String(Math.ceil(RETRY_AFTER_MS / 1000)));
      expect(answer.json.error?.message).toMatch(/LLM_MAX_QUEUE_DEPTH/);
    }
    for (const [i, answer] of answers.entries()) {
      if (answer.status !== 200) continue;
      expectClose(
        answer.json.data?.map((d) => d.embedding) ?? [],
        await direct(embedder, [`burst ${i}`, TEXTS[i % TEXTS.length]]),
      );
    }
    await expectQueueEmpty();
    await embedder.stop(5000);
  }, 120_000);

  it("a deadline or a client leaving takes the waiting job off the queue and gives its place back", async () => {
    const grpc = createClient(EmbeddingService, cluster.gateway.address);
    try {
      const late = await grpc
        .embed({ model: MODEL, inputs: [{ input: { case: "text", value: "late" } }] }, { deadline: Date.now() + 700 })
        .catch((err) => err);
      expect(isLlmError(late) && late.code).toBe("deadline_exceeded");
      const leaving = new AbortController();
      const left = post(http, { model: MODEL, input: "leaving" }, leaving.signal).catch((err) => err);
      await expect.poll(() => client.llen(waitingJobsKey(MODEL)), { timeout: 15_000 }).toBe(1);
      leaving.abort();
      await left;
      await expectQueueEmpty();
    } finally {
      grpc.close();
    }
  }, 60_000);

  it("a client leaving while its job runs ends the job on the embedder at once (the cancel channel), long before its end", async () => {
    const embedder = await addEmbedder();
    const grpc = createClient(EmbeddingService, cluster.gateway.address);
    // 384 inputs of 512 tokens: about 24 batches of LLM_EMBED_MAX_BATCH_TOKENS.
    const big = (tag: string) => ({
      model: MODEL,
      inputs: Array.from({ length: 384 }, (_, i) => ({
        input: { case: "text" as const, value: `${tag} ${i}: ${"lorem ipsum dolor sit amet ".repeat(100)}` },
      })),
    });
    const running = () => client.llen(runningJobsKey(MODEL));
    try {
      let started = performance.now();
      await grpc.embed(big("whole"));
      const whole = performance.now() - started;
      const leaving = new AbortController();
      const left = grpc.embed(big("left"), { signal: leaving.signal }).catch((err) => err);
      await expect.poll(running, { timeout: 15_000, interval: 20 }).toBe(1);
      leaving.abort();
      started = performance.now();
      expect(isLlmError(await left) && (await left).code).toBe("cancelled");
      await expect.poll(running, { timeout: 15_000, interval: 20 }).toBe(0);
      const stopped = performance.now() - started;
      console.log(`whole job ${whole.toFixed(0)} ms; stopped ${stopped.toFixed(0)} ms after the client left`);
      expect(stopped).toBeLessThan(whole / 2);
      await expectQueueEmpty();
    } finally {
      grpc.close();
      await embedder.stop(5000);
    }
  }, 120_000);

  it("an embedder killed holding jobs: another runs them again and every client gets the right vectors", async () => {
    // Long inputs, two jobs at a time: each job takes seconds, so the kill lands mid-job.
    const inputs = (r: number) =>
      Array.from({ length: 128 }, (_, i) => `request ${r} passage ${i}: ${"lorem ipsum dolor sit amet ".repeat(100)}`);
    const victim = await addEmbedder({ LLM_EMBED_QUEUE_CONCURRENCY: "2" });
    const requests = [0, 1, 2].map((r) => post(r % 2 === 0 ? http : secondHttp, { model: MODEL, input: inputs(r) }));
    await expect.poll(() => client.llen(runningJobsKey(MODEL)), { timeout: 30_000, interval: 20 }).toBe(2);
    victim.process.kill("SIGKILL");
    const survivor = await addEmbedder();
    const answers = await Promise.all(requests);
    for (const [r, answer] of answers.entries()) {
      expect(answer.status, answer.json.error?.message).toBe(200);
      expectClose(answer.json.data?.map((d) => d.embedding) ?? [], await direct(survivor, inputs(r)));
    }
    // The kill did land mid-job: BullMQ's stalled-job check moved jobs of the dead embedder back (stc counts it).
    const completed = await client.zrange(`${KEYS.prefix}:${KEYS.queueName}:completed`, "0", "-1");
    const stalled = await Promise.all(
      completed.map(async (id) => Number((await client.hget(`${KEYS.prefix}:${KEYS.queueName}:${id}`, "stc")) ?? 0)),
    );
    expect(stalled.filter((n) => n > 0).length).toBeGreaterThanOrEqual(1);
    await expectQueueEmpty();
  }, 180_000);
});
