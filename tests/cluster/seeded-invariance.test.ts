// Same request, same seed, same text: 64 seeded streams (temperature 0.9, top-p 0.95) x 200 tokens on the tiny model,
// served alone (a runner with one batch slot), batched (8 slots, the remote sampler service), and by two cluster
// runners one of which is SIGKILLed a third of the way through: every text and token id must be the same. Slow on
// purpose (flips are rare per token; before batch-invariant sampling about one stream in five differed): 64 x 200
// tokens three times, ~2.5 min alone on a quiet 2-core box, ~8 min when it is shared.
import { FinishReason, GenerationService } from "@llm/proto";
import { createClient } from "@llm/rpc";
import { type RunningService, startRedisServer, startService } from "@llm/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cluster, expectEveryIndexOnce, KILLABLE, MODEL, type Request, type Streamed, stream } from "./cluster-kit.js";

const STREAMS = 64;
const TOKENS = 200;
const request = (i: number): Request => ({
  model: MODEL,
  prompt: { case: "text", value: `Stream ${i} of the invariance test:` },
  maxTokens: TOKENS,
  includeTokenIds: true,
  sampling: { temperature: 0.9, topP: 0.95, seed: BigInt(i) },
});
const deadline = () => Date.now() + 600_000;

let cluster: Cluster;
let redis: Awaited<ReturnType<typeof startRedisServer>>;
const localServices: RunningService[] = [];
const alone: Streamed[] = [];

/** A local-mode gateway over one runner: `runnerEnv` sets its batch slots and sampler. */
async function localGateway(runnerEnv: Record<string, string>, name: string) {
  const start = async (entry: string, env: Record<string, string>, service: string) => {
    const started = await startService(entry, { name: `${service}-${name}`, env, timeoutMs: 60_000 });
    localServices.push(started);
    return started.address;
  };
  const modelEnv = { LLM_MODEL_DIR: cluster.modelDir, LLM_MODEL_ID: MODEL };
  const runner = await start("services/model-runner/src/main.ts", { ...modelEnv, ...runnerEnv }, "model-runner");
  const gateway = await start(
    "services/gateway/src/main.ts",
    { ...cluster.upstreams, LLM_RUNNER_URL: runner },
    "gateway",
  );
  return createClient(GenerationService, gateway);
}

function expectSameAsAlone(outs: Streamed[]): void {
  outs.forEach((out, i) => {
    expectEveryIndexOnce(out);
    expect(out.tokenIds, `stream ${i}`).toEqual(alone[i].tokenIds);
    expect(out.text, `stream ${i}`).toBe(alone[i].text);
  });
}

beforeAll(async () => {
  redis = await startRedisServer();
  cluster = await new Cluster(redis.url, KILLABLE).start(0);
}, 120_000);

afterAll(async () => {
  for (const service of localServices.reverse()) await service.stop(5000);
  await cluster?.stop();
  await redis?.stop();
});

describe("seeded sampling is batch-invariant", () => {
  it("serves every stream alone (one batch slot, one request at a time)", async () => {
    const client = await localGateway({ LLM_MAX_BATCH_SIZE: "1" }, "alone");
    const started = performance.now();
    for (let i = 0; i < STREAMS; i++) alone.push(await stream(client, request(i), { deadline: deadline() }));
    console.info(`${STREAMS} streams x ${TOKENS} tokens alone: ${Math.round(performance.now() - started)} ms`);
    client.close();
    for (const out of alone) expect(out.final?.finishReason).toBeOneOf([FinishReason.LENGTH, FinishReason.EOS]);
    expect(new Set(alone.map((out) => out.text)).size).toBe(STREAMS); // seeds really lead somewhere else
  }, 900_000);

  it("gives every stream its alone text when all run at once, batched 8 at a time, with the remote sampler", async () => {
    const sampler = await startService("services/sampler/src/main.ts", { name: "sampler", timeoutMs: 60_000 });
    localServices.push(sampler);
    const client = await localGateway({ LLM_MAX_BATCH_SIZE: "8", LLM_SAMPLER_URL: sampler.address }, "batched");
    const outs = await Promise.all(alone.map((_, i) => stream(client, request(i), { deadline: deadline() })));
    client.close();
    expectSameAsAlone(outs);
  }, 900_000);

  it("gives every stream its alone text on two cluster runners, one of them SIGKILLed mid-stream", async () => {
    await Promise.all([cluster.addRunner(), cluster.addRunner()]);
    await cluster.startGateway();
    // Killed once a third of all tokens arrived: both runners have served, and it holds streams mid-way, which the
    // survivor takes over.
    const [victim] = cluster.runners;
    let received = 0;
    let midStream = 0;
    const progress: number[] = alone.map(() => 0);
    const outs = await Promise.all(
      alone.map((_, i) =>
        stream(cluster.client, request(i), { deadline: deadline() }, (out) => {
          progress[i] = out.indices.length;
          if (++received !== Math.floor((STREAMS * TOKENS) / 3)) return;
          midStream = progress.filter((n) => n > 0 && n < TOKENS).length;
          victim.process.kill("SIGKILL");
        }),
      ),
    );
    expect(midStream).toBeGreaterThan(0);
    expect(cluster.servedPerRunner()[0]).toBeGreaterThan(0); // the victim finished streams before it died
    expectSameAsAlone(outs);
  }, 900_000);
});
