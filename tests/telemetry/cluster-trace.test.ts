// Cluster mode's traces, received by a real OTLP receiver: real gateway and two runner processes on a real
// redis-server (BullMQ). Each request is one trace, gateway → queue → runner: the runner's `llm.queue.wait` span
// (enqueue to a runner taking the job) is a child of the gateway's request span, and the runner's request span a
// child of it, with a token event per generated token.
import { startRedisServer } from "@llm/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { Cluster, seededRequest, stream } from "../cluster/cluster-kit.js";
import { attr, type OtlpReceiver, startOtlpReceiver } from "./otlp-receiver.js";

let receiver: OtlpReceiver;
let redis: Awaited<ReturnType<typeof startRedisServer>>;
let cluster: Cluster;

// Its own redis-server, as tests/cluster: runners of other test files on a shared Redis would take these jobs.
beforeAll(async () => {
  receiver = await startOtlpReceiver();
  redis = await startRedisServer();
  cluster = await new Cluster(redis.url, receiver.env).start(2);
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
  await redis?.stop();
  await receiver?.close();
});

it("gives each queued request one trace: gateway request span → llm.queue.wait → the runner's request span", async () => {
  const MAX_TOKENS = 5;
  const requestIds = Array.from({ length: 6 }, (_, i) => `cluster-trace-${i}`);
  await Promise.all(
    requestIds.map((requestId, i) => stream(cluster.client, { ...seededRequest(i, MAX_TOKENS), requestId })),
  );
  await cluster.stop(); // flushes every service's spans

  const { spans } = receiver;
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  for (const requestId of requestIds) {
    const runnerSpan = spans.find((s) => s.name === "llm.runner.generate" && attr(s, "llm.request_id") === requestId);
    expect(runnerSpan, requestId).toBeDefined();
    const wait = byId.get(runnerSpan?.parentSpanId ?? "");
    expect(wait?.name).toBe("llm.queue.wait");
    expect(wait?.service).toBe("model-runner");
    const gateway = byId.get(wait?.parentSpanId ?? "");
    expect(gateway?.service).toBe("gateway");
    expect(gateway?.name).toBe("llm.v1.GenerationService/Generate");
    expect(attr(gateway ?? {}, "llm.request_id")).toBe(requestId);
    // One trace id for everything the request caused, rooted at the gateway's request span.
    const trace = spans.filter((s) => s.traceId === gateway?.traceId);
    const roots = trace.filter((s) => !s.parentSpanId || !byId.has(s.parentSpanId));
    expect(roots.map((s) => s.name)).toEqual(["llm.v1.GenerationService/Generate"]);
    expect(trace.filter((s) => s.name === "llm.runner.generate")).toHaveLength(1);
    expect(runnerSpan?.events?.filter((e) => e.name === "llm.token")).toHaveLength(MAX_TOKENS);
    // The wait lies between the gateway's enqueue and the runner starting the request.
    const ns = (t: string | undefined) => BigInt(t ?? -1);
    const [waitStart, waitEnd] = [ns(wait?.startTimeUnixNano), ns(wait?.endTimeUnixNano)];
    expect(waitStart >= ns(gateway?.startTimeUnixNano)).toBe(true);
    expect(waitEnd >= waitStart).toBe(true);
    expect(waitEnd <= ns(runnerSpan?.startTimeUnixNano)).toBe(true);
  }
}, 120_000);
