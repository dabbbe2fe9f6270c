// One trace per request across the real services, received by an OTLP/HTTP (JSON) receiver in this test:
// gateway -> tokenizer, gateway -> runner, runner (request span) -> sampler (remote), gateway -> detokenizer;
// one llm.token event per generated token; step spans linked to the request they served.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ensureModel } from "@llm/model-pack";
import { GenerationService } from "@llm/proto";
import { createClient } from "@llm/rpc";
import { ServiceGroup } from "@llm/testing";
import { afterAll, beforeAll, expect, it } from "vitest";

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  events?: { name: string }[];
  links?: { traceId: string; spanId: string }[];
  attributes?: { key: string; value: { stringValue?: string; intValue?: string | number } }[];
}
interface Received extends OtlpSpan {
  service: string;
}

const spans: Received[] = [];
let receiver: Server;
const services = new ServiceGroup();
let gatewayAddress = "";

function collect(body: string): void {
  const data = JSON.parse(body) as {
    resourceSpans?: {
      resource: { attributes: { key: string; value: { stringValue?: string } }[] };
      scopeSpans: { spans: OtlpSpan[] }[];
    }[];
  };
  for (const { resource, scopeSpans } of data.resourceSpans ?? []) {
    const service = resource.attributes.find((a) => a.key === "service.name")?.value.stringValue ?? "?";
    for (const scope of scopeSpans) for (const span of scope.spans) spans.push({ ...span, service });
  }
}

function attr(span: OtlpSpan, key: string): string | undefined {
  const value = span.attributes?.find((a) => a.key === key)?.value;
  return value === undefined ? undefined : String(value.stringValue ?? value.intValue);
}

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8").on("data", (chunk: string) => {
      body += chunk;
    });
    req.on("end", () => {
      if (req.url === "/v1/traces") collect(body);
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const otlp = {
    LLM_OTLP_ENDPOINT: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`,
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
    OTEL_METRICS_EXPORTER: "none",
  };
  const model = await ensureModel("tiny");
  const env = { ...otlp, LLM_MODEL_DIR: model.dir, LLM_MODEL_ID: "tiny" };
  const [sampler] = await services.start([["services/sampler/src/main.ts", { name: "sampler", env }]]);
  const [tokenizer, runner, detokenizer] = await services.start([
    ["services/tokenizer/src/main.ts", { name: "tokenizer", env }],
    [
      "services/model-runner/src/main.ts",
      { name: "model-runner", env: { ...env, LLM_SAMPLER_URL: sampler.address }, timeoutMs: 60_000 },
    ],
    ["services/detokenizer/src/main.ts", { name: "detokenizer", env }],
  ]);
  const [gateway] = await services.start([
    [
      "services/gateway/src/main.ts",
      {
        name: "gateway",
        env: {
          ...otlp,
          LLM_TOKENIZER_URL: tokenizer.address,
          LLM_RUNNER_URL: runner.address,
          LLM_DETOKENIZER_URL: detokenizer.address,
        },
      },
    ],
  ]);
  gatewayAddress = gateway.address;
}, 90_000);

afterAll(async () => {
  await services.stopAll();
  receiver?.close();
});

it("gives each request one trace spanning every service, with a token event per generated token", async () => {
  const client = createClient(GenerationService, gatewayAddress);
  const MAX_TOKENS = 7;
  const requestIds = ["trace-a", "trace-b", "trace-c"];
  try {
    await Promise.all(
      requestIds.map(async (requestId) => {
        for await (const _ of client.generate({
          requestId,
          prompt: { case: "text", value: `hello from ${requestId}` },
          maxTokens: MAX_TOKENS,
          sampling: { temperature: 0 },
          ignoreEos: true,
        } as never)) {
          // drain
        }
      }),
    );
  } finally {
    client.close();
  }
  await services.stopAll(); // flushes every service's spans

  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const parentService = (s: OtlpSpan) => (s.parentSpanId ? byId.get(s.parentSpanId)?.service : undefined);
  for (const requestId of requestIds) {
    const runnerSpan = spans.find((s) => s.name === "llm.runner.generate" && attr(s, "llm.request_id") === requestId);
    expect(runnerSpan, requestId).toBeDefined();
    const trace = spans.filter((s) => s.traceId === runnerSpan?.traceId);
    const root = trace.filter((s) => !s.parentSpanId || !byId.has(s.parentSpanId));
    expect(root.map((s) => `${s.service}:${s.name}`)).toEqual(["gateway:llm.v1.GenerationService/Generate"]);
    const edge = (service: string, name: string) => trace.find((s) => s.service === service && s.name === name);
    expect(parentService(edge("tokenizer", "llm.v1.TokenizerService/Encode") as OtlpSpan)).toBe("gateway");
    expect(parentService(edge("model-runner", "llm.v1.ModelRunnerService/Generate") as OtlpSpan)).toBe("gateway");
    expect(parentService(edge("detokenizer", "llm.v1.DetokenizerService/DecodeStream") as OtlpSpan)).toBe("gateway");
    const sampled = edge("sampler", "llm.sampler.sequence") as OtlpSpan;
    expect(sampled.parentSpanId).toBe(runnerSpan?.spanId);
    const tokenEvents = runnerSpan?.events?.filter((e) => e.name === "llm.token") ?? [];
    expect(tokenEvents).toHaveLength(MAX_TOKENS);
    expect(attr(sampled, "llm.sampler.tokens")).toBe(String(MAX_TOKENS));
    const steps = spans.filter(
      (s) => s.name === "llm.runner.step" && s.links?.some((l) => l.spanId === runnerSpan?.spanId),
    );
    expect(steps.length).toBeGreaterThanOrEqual(MAX_TOKENS);
  }
  const steps = spans.filter((s) => s.name === "llm.runner.step").map((s) => Number(attr(s, "llm.step.index")));
  expect(steps.sort((a, b) => a - b)).toEqual(steps.map((_, i) => i + 1)); // one span per engine step
});
