import { ensureModel } from "@llm/model-pack";
import { EmbeddingService, ServerReflection } from "@llm/proto";
import { checkHealth, createClient, type ServiceClient } from "@llm/rpc";
import { METRICS } from "@llm/telemetry";
import { llmFailure, type RunningService, startService } from "@llm/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ENTRY = "services/embedder/src/main.ts";
let service: RunningService;
let client: ServiceClient<typeof EmbeddingService>;
let metricsUrl: string;

beforeAll(async () => {
  const model = await ensureModel("embed-tiny");
  service = await startService(ENTRY, {
    name: "embedder",
    timeoutMs: 60_000, // transpiling on a shared 2-core machine
    env: { LLM_MODEL_DIR: model.dir, LLM_MODEL_ID: "embed-tiny", LLM_EMBED_MAX_INPUTS: "64", LLM_METRICS_PORT: "0" },
  });
  metricsUrl = (await service.listening("embedder-metrics")) ?? "";
  client = createClient(EmbeddingService, service.address);
}, 120_000);

afterAll(async () => {
  client?.close();
  const exit = await service?.stop();
  expect(exit?.code).toBe(0); // SIGTERM drains and exits cleanly
});

describe("embedder service", () => {
  it("describes its model", async () => {
    expect(await client.info({})).toMatchObject({
      model: "embed-tiny",
      dimensions: 128,
      maxInputTokens: 512,
      pooling: "mean",
      normalized: true,
      maxInputs: 64,
      vocabSize: 30_522,
      matryoshka: true,
    });
    expect((await client.info({ model: "embed-tiny" })).model).toBe("embed-tiny");
    await expect(client.info({ model: "nope" })).rejects.toMatchObject({ code: "not_found" });
  });

  it("embeds texts and token ids in input order, unit length, with usage", async () => {
    const response = await client.embed({
      model: "embed-tiny",
      inputs: [
        { input: { case: "text", value: "hello world" } },
        { input: { case: "tokenIds", value: { ids: [7592, 2088] } } }, // "hello world" without [CLS]/[SEP]
      ],
    });
    expect(response.embeddings).toHaveLength(2);
    expect(response.promptTokens).toBe(8);
    const [a, b] = response.embeddings.map((e) => e.values);
    expect(Math.hypot(...a)).toBeCloseTo(1, 5);
    expect(b).toEqual(a);
    const short = await client.embed({ inputs: [{ input: { case: "text", value: "hello world" } }], dimensions: 16 });
    expect(short.embeddings[0].values).toHaveLength(16);
  });

  it("answers health checks and reflection, and exports its metrics", async () => {
    expect(await checkHealth(service.address, "llm.v1.EmbeddingService")).toBe("SERVING");
    const reflection = createClient(ServerReflection, service.address);
    const call = reflection.serverReflectionInfo();
    call.send({ messageRequest: { case: "listServices", value: "" } });
    call.end();
    const names: string[] = [];
    for await (const response of call) {
      if (response.messageResponse.case === "listServicesResponse") {
        names.push(...response.messageResponse.value.service.map((s) => s.name));
      }
    }
    reflection.close();
    expect(names).toContain("llm.v1.EmbeddingService");
    const metrics = await (await fetch(`http://${metricsUrl}/metrics`)).text();
    for (const spec of Object.values(METRICS).filter((m) => m.name.startsWith("llm_embedding_"))) {
      expect(metrics, `${spec.name} missing from /metrics`).toContain(spec.name);
    }
    expect(metrics).toMatch(/llm_embedding_requests_total\{status="ok"[,}]/);
  });

  it.each([
    ["an unknown model", { model: "nope", inputs: [{ input: { case: "text" as const, value: "x" } }] }, "not_found"],
    ["no inputs", { inputs: [] }, "invalid_argument"],
    ["an empty string", { inputs: [{ input: { case: "text" as const, value: "" } }] }, "invalid_argument"],
    ["an input with nothing set", { inputs: [{}] }, "invalid_argument"],
    ["65 inputs", { inputs: Array(65).fill({ input: { case: "text", value: "x" } }) }, "invalid_argument"],
    [
      "an over-long input with refuse_truncation",
      { inputs: [{ input: { case: "text" as const, value: "a ".repeat(600) } }], refuseTruncation: true },
      "invalid_argument",
    ],
  ])("refuses %s with a clear status", async (_name, request, code) => {
    const err = await llmFailure(client.embed(request));
    expect(err.code).toBe(code);
    expect(err.message.length).toBeGreaterThan(10);
  });

  it("a deadline cancels a waiting request; the service keeps serving", async () => {
    const big = Array.from({ length: 64 }, (_, i) => ({
      input: { case: "text" as const, value: `word ${i} `.repeat(60) },
    }));
    const busy = client.embed({ inputs: big });
    const err = await llmFailure(client.embed({ inputs: big }, { deadline: Date.now() + 5 }));
    expect(["deadline_exceeded", "cancelled"]).toContain(err.code);
    expect((await busy).embeddings).toHaveLength(64);
  });
});
