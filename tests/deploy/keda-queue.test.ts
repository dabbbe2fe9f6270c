// The lists KEDA's Redis scaler reads (each overlay's ScaledObject listNames) are the lists where BullMQ really
// keeps the model's waiting jobs and the jobs runners are running: the gateway's own dispatcher (packages/queue)
// queues jobs for the model the runners serve (and embedding jobs for the model the embedders serve), and those lists
// in a real Redis hold exactly those jobs.
import { join } from "node:path";
import { create, EmbedRequestSchema, GenerateRequestSchema, ModelRunnerServiceGenerateRequestSchema } from "@llm/proto";
import { type ClusterDispatcher, clusterKeys } from "@llm/queue";
import { connectDispatcher } from "@llm/testing";
import { Worker } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { renderKustomization } from "./kustomize.js";
import { REPO_ROOT } from "./service-config.js";

// biome-ignore lint/suspicious/noExplicitAny: manifests are untyped YAML
type Any = any;

const JOBS = 3;
// A database of its own, so no runner of another test takes these jobs off the list.
const DATABASE = 13;

/** The runners' model id and the ScaledObject's Redis list names (waiting, running), as an overlay renders them. */
function scaledRunner(overlay: string): { modelId: string; listName: string; runningList: string } {
  const objects = renderKustomization(join(REPO_ROOT, "infra/k8s/overlays", overlay)) as Any[];
  const scaledObject = objects.find((o) => o.kind === "ScaledObject" && o.spec.scaleTargetRef.name === "model-runner");
  const [listName, runningList] = scaledObject.spec.triggers
    .filter((t: Any) => t.type === "redis")
    .map((t: Any) => t.metadata.listName);
  const modelId = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === "llm-model").data.LLM_MODEL_ID;
  return { modelId, listName, runningList };
}

/** The embedders' model id and their ScaledObject's waiting list, as an overlay renders them. */
function scaledEmbedder(overlay: string): { modelId: string; listName: string } {
  const objects = renderKustomization(join(REPO_ROOT, "infra/k8s/overlays", overlay)) as Any[];
  const scaledObject = objects.find((o) => o.kind === "ScaledObject" && o.spec.scaleTargetRef.name === "embedder");
  const embedder = objects.find((o) => o.kind === "Deployment" && o.metadata.name === "embedder");
  const env = embedder.spec.template.spec.containers[0].env as { name: string; value?: string }[];
  const modelId = env.find((e) => e.name === "LLM_MODEL_ID")?.value as string;
  return { modelId, listName: scaledObject.spec.triggers[0].metadata.listName };
}

/** Queues a request for `modelId` through the dispatcher; abort it to end it. */
function queue(dispatcher: ClusterDispatcher, modelId: string, requestId: string, abort: AbortController) {
  const request = create(ModelRunnerServiceGenerateRequestSchema, {
    requestId,
    model: modelId,
    promptTokenIds: [1, 2, 3],
    maxTokens: 4,
  });
  const admitted = create(GenerateRequestSchema, { requestId, model: modelId });
  const events = dispatcher.generate(request, admitted, { signal: abort.signal });
  // Nothing writes this request's stream, so the first event never comes.
  return events.next().catch((error: unknown) => error);
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe.each(["dev", "gpu"])("overlay %s", (overlay) => {
  const url = `${inject("redisUrl")}/${DATABASE}`;
  let redis: Redis;
  let dispatcher: ClusterDispatcher;

  beforeAll(async () => {
    redis = new Redis(url);
    await redis.flushdb();
    dispatcher = await connectDispatcher(url);
  });

  afterAll(async () => {
    await dispatcher?.close();
    await redis?.flushdb();
    redis?.disconnect();
  });

  test("jobs queued for the served model wait on exactly the ScaledObject's list", async () => {
    const { modelId, listName } = scaledRunner(overlay);
    expect(await redis.llen(listName)).toBe(0);

    // Nothing consumes this database's queues: the jobs stay waiting.
    const aborts = Array.from({ length: JOBS }, () => new AbortController());
    const firsts = aborts.map((abort, i) => queue(dispatcher, modelId, `keda-${overlay}-${i}`, abort));

    await until(async () => (await redis.llen(listName)) === JOBS, `${JOBS} jobs on ${listName}`);
    // Each entry is the id of one of these jobs; BullMQ keeps the job's data in <list prefix>:<id>.
    const jobPrefix = listName.replace(/:wait$/, "");
    const queued = await Promise.all(
      (await redis.lrange(listName, 0, -1)).map(async (id) => {
        const data = JSON.parse((await redis.hget(`${jobPrefix}:${id}`, "data")) ?? "{}");
        return data.requestId as string;
      }),
    );
    expect(queued.sort()).toEqual(aborts.map((_, i) => `keda-${overlay}-${i}`));

    for (const abort of aborts) abort.abort();
    await Promise.all(firsts);
  });

  test("embedding jobs queued for the embedders' model wait on exactly the embedder ScaledObject's list", async () => {
    const { modelId, listName } = scaledEmbedder(overlay);
    expect(await redis.llen(listName)).toBe(0);
    const abort = new AbortController();
    const request = create(EmbedRequestSchema, { model: modelId, inputs: [{ input: { case: "text", value: "x" } }] });
    const answer = dispatcher.embed(request, 3, undefined, { signal: abort.signal }).catch((error: unknown) => error);
    await until(async () => (await redis.llen(listName)) === 1, `the embedding job on ${listName}`);
    abort.abort();
    await answer;
    await until(async () => (await redis.llen(listName)) === 0, `${listName} emptied by the abort`);
  });

  test("a job a runner has taken sits on the ScaledObject's running list while it runs", async () => {
    const { modelId, listName, runningList } = scaledRunner(overlay);
    const keys = clusterKeys(modelId);
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const connection = new Redis(url, { maxRetriesPerRequest: null });
    const worker = new Worker(keys.queueName, () => held, { connection, prefix: keys.prefix });
    const abort = new AbortController();
    const first = queue(dispatcher, modelId, `keda-running-${overlay}`, abort);
    try {
      await until(async () => (await redis.llen(runningList)) === 1, `the job on ${runningList}`);
      expect(await redis.llen(listName)).toBe(0);
    } finally {
      release();
      abort.abort();
      await first;
      await worker.close();
      connection.disconnect();
    }
  });
});
