// Cluster mode's embedding traces, received by a real OTLP receiver: a real gateway and embedder on a real
// redis-server. Each request is one trace, gateway → queue → embedder: the embedder's `llm.queue.wait` span is a
// child of the gateway's Embed span, and its `llm.embedder.embed` span a child of the wait.
import { EmbeddingService } from "@llm/proto";
import { createClient } from "@llm/rpc";
import { type RunningService, startRedisServer } from "@llm/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { Cluster } from "../cluster/cluster-kit.js";
import { EMBED_MODEL as MODEL, startClusterEmbedder } from "../cluster/embed-kit.js";
import { type OtlpReceiver, startOtlpReceiver } from "./otlp-receiver.js";

let receiver: OtlpReceiver;
let redis: Awaited<ReturnType<typeof startRedisServer>>;
let cluster: Cluster;
let embedder: RunningService;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  redis = await startRedisServer();
  cluster = await new Cluster(redis.url, receiver.env).start(0);
  embedder = await startClusterEmbedder(redis.url, receiver.env);
}, 120_000);

afterAll(async () => {
  await embedder?.stop(5000);
  await cluster?.stop();
  await redis?.stop();
  await receiver?.close();
});

it("gives each queued embedding request one trace: gateway Embed span → llm.queue.wait → llm.embedder.embed", async () => {
  const client = createClient(EmbeddingService, cluster.gateway.address);
  const REQUESTS = 4;
  try {
    await Promise.all(
      Array.from({ length: REQUESTS }, (_, i) =>
        client.embed({ model: MODEL, inputs: [{ input: { case: "text", value: `traced ${i}` } }] }),
      ),
    );
  } finally {
    client.close();
  }
  await embedder.stop(5000); // flushes its spans
  await cluster.stop();

  const { spans } = receiver;
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const embeds = spans.filter((s) => s.name === "llm.embedder.embed");
  expect(embeds).toHaveLength(REQUESTS);
  const traces = new Set<string>();
  for (const embed of embeds) {
    expect(embed.service).toBe("embedder");
    const wait = byId.get(embed.parentSpanId ?? "");
    expect(wait?.name).toBe("llm.queue.wait");
    expect(wait?.service).toBe("embedder");
    const gateway = byId.get(wait?.parentSpanId ?? "");
    expect(gateway?.service).toBe("gateway");
    expect(gateway?.name).toBe("llm.v1.EmbeddingService/Embed");
    expect(BigInt(wait?.endTimeUnixNano ?? -1) <= BigInt(embed.startTimeUnixNano ?? -1)).toBe(true);
    traces.add(embed.traceId);
  }
  expect(traces.size).toBe(REQUESTS); // one trace per request
}, 120_000);
