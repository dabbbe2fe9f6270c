// KV-aware routing with real runner processes in cluster mode and the gateway's dispatcher (in this process):
// a request goes to the runner holding its prefix in memory; a request routed to a runner that died moves to
// the shared queue and completes elsewhere.
import { randomUUID } from "node:crypto";
import { ensureModel } from "@llm/model-pack";
import {
  create,
  GenerateRequestSchema,
  ModelRunnerService,
  type ModelRunnerServiceGenerateRequest,
  ModelRunnerServiceGenerateRequestSchema,
  type ModelRunnerServiceGenerateResponse,
} from "@llm/proto";
import type { ClusterDispatcher } from "@llm/queue";
import { createClient } from "@llm/rpc";
import { connectDispatcher, type RunningService, startRedisServer, startService } from "@llm/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const MODEL = `tiny-routing-${randomUUID().slice(0, 8)}`; // its own queues, whatever else shares Redis
const prompt = (seed: number) => Array.from({ length: 80 }, (_, i) => (i * 7919 + seed * 104_729 + 13) % 50_000);

let redis: Awaited<ReturnType<typeof startRedisServer>>;
let dispatcher: ClusterDispatcher;
const runners: Record<"a" | "b", RunningService> = {} as never;

beforeAll(async () => {
  redis = await startRedisServer();
  const dir = (await ensureModel("tiny")).dir;
  const start = (id: "a" | "b") =>
    startService("services/model-runner/src/main.ts", {
      name: `runner-${id}`,
      env: { LLM_MODEL_DIR: dir, LLM_MODEL_ID: MODEL, LLM_REDIS_URL: redis.url, LLM_RUNNER_ID: `runner-${id}` },
      timeoutMs: 60_000,
    });
  [runners.a, runners.b] = await Promise.all([start("a"), start("b")]);
  dispatcher = await connectDispatcher(redis.url, { kvAwareRouting: true });
});

afterAll(async () => {
  await dispatcher?.close();
  await Promise.all(Object.values(runners).map((runner) => runner.stop()));
  await redis?.stop();
});

function runnerRequest(promptTokenIds: number[]): ModelRunnerServiceGenerateRequest {
  return create(ModelRunnerServiceGenerateRequestSchema, {
    requestId: randomUUID(),
    model: MODEL,
    promptTokenIds,
    maxTokens: 6,
    sampling: { temperature: 0 },
    ignoreEos: true,
  });
}

/** Runs a request through the dispatcher: its token ids, cached prompt tokens, and which runner logged it. */
async function dispatch(promptTokenIds: number[]) {
  const request = runnerRequest(promptTokenIds);
  const admitted = create(GenerateRequestSchema, { requestId: request.requestId, model: MODEL });
  const ids: number[] = [];
  let cached = -1;
  const events: AsyncIterable<ModelRunnerServiceGenerateResponse> = dispatcher.generate(request, admitted, {
    signal: new AbortController().signal,
  });
  for await (const { event } of events) {
    if (event.case === "token") ids.push(event.value.tokenId);
    if (event.case === "final") cached = event.value.usage?.cachedPromptTokens ?? -1;
  }
  const servedBy = (["a", "b"] as const).filter((id) => runners[id].stderr().includes(request.requestId));
  return { ids, cached, servedBy };
}

/** Puts a prompt into one runner's memory by calling that runner directly (not through a queue). */
async function warm(id: "a" | "b", promptTokenIds: number[]): Promise<number[]> {
  const client = createClient(ModelRunnerService, runners[id].address);
  try {
    const ids: number[] = [];
    for await (const { event } of client.generate(runnerRequest(promptTokenIds))) {
      if (event.case === "token") ids.push(event.value.tokenId);
    }
    return ids;
  } finally {
    client.close();
  }
}

const heartbeat = () => new Promise((resolve) => setTimeout(resolve, 1300)); // runners publish every second

describe("KV-aware routing (runner processes, cluster mode)", () => {
  it("sends each request to the runner that holds its prefix, which serves it from memory", async () => {
    const [p, q] = [prompt(1), prompt(2)];
    const [pIds, qIds] = await Promise.all([warm("a", p), warm("b", q)]);
    await heartbeat();
    for (let round = 0; round < 3; round++) {
      const [onA, onB] = await Promise.all([dispatch(p), dispatch(q)]);
      expect(onA).toEqual({ ids: pIds, cached: 64, servedBy: ["a"] });
      expect(onB).toEqual({ ids: qIds, cached: 64, servedBy: ["b"] });
    }
  });

  it("moves a request routed to a runner that died to the shared queue, where another runner serves it", async () => {
    const r = prompt(3);
    const expected = await warm("b", r);
    await heartbeat();
    runners.b.process.kill("SIGKILL"); // its heartbeat still looks fresh for a few seconds
    const moved = await dispatch(r);
    expect(moved.ids).toEqual(expected);
    expect(moved.servedBy).toEqual(["a"]);
  });
});
