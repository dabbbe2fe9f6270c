// Runner processes sharing one Redis: a prefix one runner computed is reused by another (same tokens as
// a miss), tenants stay apart by cache_salt, float16 storage keeps the greedy tokens, and a runner whose
// Redis goes away keeps serving.
import { randomUUID } from "node:crypto";
import { blockKeys } from "@llm/prefix-cache";
import { ModelRunnerService } from "@llm/proto";
import { createClient, type ServiceClient } from "@llm/rpc";
import { type RunningService, startRedisServer, startService } from "@llm/testing";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { collect, eventually, GREEDY, promptOf, RUNNER, tinyModelDir } from "./helpers.js";

type Client = ServiceClient<typeof ModelRunnerService>;
const TTL_S = 120;
// With LLM_REDIS_URL a runner also works its model's cluster queue: an id of its own keeps these runners off
// the queue other test files use on the same Redis.
const MODEL = `tiny-prefix-${randomUUID().slice(0, 8)}`;
const PROMPT_TOKENS = 80; // 5 full blocks; 4 are reusable (the last prompt token is always recomputed)
const REUSED = 64;

const runners: RunningService[] = [];
const clients: Client[] = [];
let redis: Redis;

async function startRunner(redisUrl: string, env: Record<string, string> = {}): Promise<Client> {
  const runner = await startService(RUNNER, {
    name: "model-runner",
    env: {
      LLM_MODEL_DIR: await tinyModelDir(),
      LLM_MODEL_ID: MODEL,
      LLM_REDIS_URL: redisUrl,
      LLM_PREFIX_CACHE_TTL_S: String(TTL_S),
      ...env,
    },
    timeoutMs: 60_000,
  });
  runners.push(runner);
  const client = createClient(ModelRunnerService, runner.address);
  clients.push(client);
  return client;
}

const generate = (client: Client, promptTokenIds: number[], cacheSalt: string, logprobs = false) =>
  collect(
    client.generate({
      requestId: randomUUID(),
      model: MODEL,
      promptTokenIds,
      maxTokens: 12,
      sampling: { ...GREEDY, logprobs },
      ignoreEos: true,
      cacheSalt,
    }),
  );

const sharedHits = async (client: Client) => (await client.info({})).prefixCache?.sharedHitBlocks ?? 0n;

/** Redis keys of the prompt's blocks once the runner's background write has landed. */
async function stored(prompt: number[], cacheSalt: string): Promise<string[]> {
  // Block keys name the model folder ("tiny"), whatever id the runner serves it under.
  const keys = blockKeys(prompt, { modelId: "tiny", cacheSalt }).map((key) => `llm:kv:${key}`);
  await eventually(async () => (await redis.exists(...keys)) === keys.length, 5000);
  return keys;
}

let runnerA: Client;
let runnerB: Client;

beforeAll(async () => {
  redis = new Redis(inject("redisUrl"));
  [runnerA, runnerB] = await Promise.all([
    startRunner(inject("redisUrl")),
    startRunner(inject("redisUrl"), { LLM_PREFIX_CACHE_REDIS_DTYPE: "float16" }),
  ]);
});

afterAll(async () => {
  for (const client of clients) client.close();
  const exits = await Promise.all(runners.map((runner) => runner.stop()));
  redis?.disconnect();
  for (const exit of exits) expect(exit.code).toBe(0);
});

describe("shared prefix cache (runner processes, one Redis)", () => {
  // A fresh salt per run: the test Redis may hold blocks of earlier runs.
  const tenant = `tenant-${randomUUID()}`;

  it("runner B reuses the blocks runner A computed, with the same tokens as the miss", async () => {
    const prompt = promptOf(PROMPT_TOKENS, 21);
    const miss = await generate(runnerA, prompt, tenant);
    expect(miss.final.usage?.cachedPromptTokens).toBe(0);
    const keys = await stored(prompt, tenant);
    const ttl = await redis.ttl(keys[0]);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(TTL_S);

    const before = await sharedHits(runnerB);
    const hit = await generate(runnerB, prompt, tenant);
    expect(hit.final.usage?.cachedPromptTokens).toBe(REUSED);
    expect(hit.ids).toEqual(miss.ids);
    expect(await sharedHits(runnerB)).toBe(before + 4n);

    // Promoted: the next hit on B comes from its memory tier, not Redis.
    const again = await generate(runnerB, prompt, tenant);
    expect(again.final.usage?.cachedPromptTokens).toBe(REUSED);
    expect(await sharedHits(runnerB)).toBe(before + 4n);
    expect(again.ids).toEqual(miss.ids);
  });

  it("never gives one tenant's blocks to another: same prompt, other salt -> miss", async () => {
    const prompt = promptOf(PROMPT_TOKENS, 1000 + Math.floor(Math.random() * 1e6)); // unsalted blocks outlive runs
    const owner = await generate(runnerA, prompt, tenant);
    await stored(prompt, tenant);
    const before = await sharedHits(runnerB);
    const other = await generate(runnerB, prompt, `other-${randomUUID()}`);
    const unsalted = await generate(runnerB, prompt, "");
    expect(other.final.usage?.cachedPromptTokens).toBe(0);
    expect(unsalted.final.usage?.cachedPromptTokens).toBe(0);
    expect(await sharedHits(runnerB)).toBe(before);
    expect(other.ids).toEqual(owner.ids); // the salt changes where blocks live, never the tokens
  });

  it("float16 storage: half the bytes, same greedy tokens, logprobs within tolerance", async () => {
    const prompt = promptOf(PROMPT_TOKENS, 23);
    const miss = await generate(runnerB, prompt, tenant, true); // B stores float16
    const keys = await stored(prompt, tenant);
    const halfPayloadBytes = (await redis.strlen(keys[0])) - 8;
    const fromA = await generate(runnerA, promptOf(PROMPT_TOKENS, 24), tenant);
    const wide = await stored(promptOf(PROMPT_TOKENS, 24), tenant);
    expect(fromA.final.usage?.cachedPromptTokens).toBe(0);
    expect(await redis.strlen(wide[0])).toBe(8 + 2 * halfPayloadBytes); // A stores float32

    const hit = await generate(runnerA, prompt, tenant, true); // A reads B's float16 blocks
    expect(hit.final.usage?.cachedPromptTokens).toBe(REUSED);
    expect(hit.ids).toEqual(miss.ids);
    hit.tokens.forEach((token, i) => {
      expect(Math.abs(token.logprob - miss.tokens[i].logprob)).toBeLessThan(1e-2);
    });
  });
});

describe("a runner whose Redis goes away", () => {
  it("still serves (the tier degrades to misses with a warning) and uses Redis again when it is back", async () => {
    const server = await startRedisServer();
    const client = await startRunner(server.url);
    const runner = runners[runners.length - 1];
    const tenant = `down-${randomUUID()}`;
    try {
      const first = await generate(client, promptOf(PROMPT_TOKENS, 31), tenant);
      await server.stop();

      const prompt = promptOf(PROMPT_TOKENS, 32);
      const served = await generate(client, prompt, tenant);
      expect(served.ids).toHaveLength(12);
      expect(served.final.usage?.cachedPromptTokens).toBe(0);
      const again = await generate(client, promptOf(PROMPT_TOKENS, 31), tenant);
      expect(again.ids).toEqual(first.ids); // its memory tier still serves
      expect(again.final.usage?.cachedPromptTokens).toBe(REUSED);
      await eventually(async () => ((await client.info({})).prefixCache?.sharedErrors ?? 0n) > 0n);
      expect(runner.stderr()).toMatch(/prefix cache Redis/);

      const back = await startRedisServer(Number(new URL(server.url).port));
      try {
        const writtenBefore = (await client.info({})).prefixCache?.sharedWrittenBlocks ?? 0n;
        await eventually(async () => {
          await generate(client, promptOf(PROMPT_TOKENS, 40 + Math.floor(Math.random() * 1e6)), tenant);
          return ((await client.info({})).prefixCache?.sharedWrittenBlocks ?? 0n) > writtenBefore;
        }, 15_000);
        clients.pop()?.close();
        await runners.pop()?.stop(); // while its Redis is up: its queue worker's shutdown goes through Redis
      } finally {
        await back.stop();
      }
    } finally {
      await server.stop();
    }
  });
});
