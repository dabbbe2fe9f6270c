// A takeover continues what the client received, whatever the numerics: the first runner's sampler is made to pick
// the least likely tokens (a forced divergence), the runner is frozen mid-stream and SIGKILLed, and a runner whose
// sampler picks the most likely ones takes the job over. The client's tokens must be the first runner's up to the
// handover, then exactly the second runner's greedy continuation of the prompt plus those tokens: one continuation,
// not a join of two.
import { ModelRunnerService, TokenizerService } from "@llm/proto";
import { createClient } from "@llm/rpc";
import { type RunningService, startRedisServer, startService } from "@llm/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cluster, expectEveryIndexOnce, FAST_TAKEOVER, MODEL, type Request, stream, withId } from "./cluster-kit.js";

const TOKENS = 60;
const PROMPT = "A takeover continues what the client received:";
const PLUGIN = { LLM_SAMPLER_PLUGINS: "tests/cluster/fixtures/forced-strategy.ts" };

let cluster: Cluster;
let redis: Awaited<ReturnType<typeof startRedisServer>>;
const samplers: RunningService[] = [];

async function sampler(env: Record<string, string>): Promise<string> {
  const started = await startService("services/sampler/src/main.ts", { name: "sampler", env, timeoutMs: 60_000 });
  samplers.push(started);
  return started.address;
}

beforeAll(async () => {
  redis = await startRedisServer();
  const leastLikely = await sampler({ ...PLUGIN, FORCED_STRATEGY: "least" });
  cluster = await new Cluster(redis.url, FAST_TAKEOVER).start(1, {}, { LLM_SAMPLER_URL: leastLikely });
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
  for (const started of samplers) await started.stop(5000);
  await redis?.stop();
});

/** What `runner` generates greedily after `promptIds` (alone, as the takeover's prefill and decode run). */
async function greedyContinuation(runner: RunningService, promptIds: number[], maxTokens: number): Promise<number[]> {
  const client = createClient(ModelRunnerService, runner.address);
  const tokens: number[] = [];
  try {
    const events = client.generate({
      requestId: "reference",
      model: MODEL,
      promptTokenIds: promptIds,
      maxTokens,
      sampling: { temperature: 0 },
    });
    for await (const { event } of events) if (event.case === "token") tokens.push(event.value.tokenId);
  } finally {
    client.close();
  }
  return tokens;
}

describe("takeover", () => {
  it("continues the tokens the client already has, even when the new runner would have chosen others", async () => {
    const request: Request = {
      model: MODEL,
      prompt: { case: "text", value: PROMPT },
      maxTokens: TOKENS,
      includeTokenIds: true,
      sampling: { strategy: "forced" },
    };
    const firstRunnerOnly = await stream(cluster.client, withId(request, "first-runner"));
    const [victim] = cluster.runners;
    let successor: RunningService | undefined;
    const out = await stream(cluster.client, withId(request, "taken-over"), {}, async (received) => {
      if (received.indices.length !== 10) return;
      victim.process.kill("SIGSTOP"); // nothing more from it; its lock runs out
      successor = await cluster.addRunner({ LLM_SAMPLER_URL: await sampler({ ...PLUGIN, FORCED_STRATEGY: "most" }) });
      victim.process.kill("SIGKILL");
    });
    expectEveryIndexOnce(out);
    expect(out.tokenIds).toHaveLength(TOKENS);

    // The handover: where the client's tokens stop being the first runner's.
    let handover = 0;
    while (out.tokenIds[handover] === firstRunnerOnly.tokenIds[handover]) handover++;
    expect(handover).toBeGreaterThanOrEqual(10);
    expect(handover).toBeLessThan(TOKENS);

    const tokenizer = createClient(TokenizerService, cluster.upstreams.LLM_TOKENIZER_URL);
    const { tokenIds: promptIds } = await tokenizer.encode({ model: MODEL, text: PROMPT });
    tokenizer.close();
    const received = out.tokenIds.slice(0, handover);
    const expected = await greedyContinuation(
      successor as RunningService,
      [...promptIds, ...received],
      TOKENS - handover,
    );
    expect(out.tokenIds.slice(handover)).toEqual(expected);
  }, 180_000);
});
