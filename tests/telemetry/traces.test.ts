// One trace per request across the real services, received by an OTLP/HTTP (JSON) receiver in this test:
// gateway -> tokenizer, gateway -> runner, runner (request span) -> sampler (remote), gateway -> detokenizer;
// one llm.token event per generated token; step spans linked to the request they served; no prompt or completion
// text (LLM_TRACE_CONTENT is off by default).
import { ensureModel } from "@llm/model-pack";
import { GenerationService } from "@llm/proto";
import { createClient } from "@llm/rpc";
import { ServiceGroup } from "@llm/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { attr, type OtlpReceiver, type OtlpSpan, startOtlpReceiver, textsOf } from "./otlp-receiver.js";

let receiver: OtlpReceiver;
const services = new ServiceGroup();
let gatewayAddress = "";

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  const otlp = receiver.env;
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
  await receiver?.close();
});

it("gives each request one trace spanning every service, with a token event per generated token", async () => {
  const client = createClient(GenerationService, gatewayAddress);
  const MAX_TOKENS = 150; // past the OTel SDK's default of 128 events per span
  const requestIds = ["trace-a", "trace-b", "trace-c"];
  const completions: string[] = [];
  try {
    await Promise.all(
      requestIds.map(async (requestId) => {
        let text = "";
        for await (const { event } of client.generate({
          requestId,
          prompt: { case: "text", value: `hello from ${requestId}` },
          maxTokens: MAX_TOKENS,
          sampling: { temperature: 0 },
          ignoreEos: true,
        } as never)) {
          if (event.case === "delta") text += event.value.text;
        }
        completions.push(text);
      }),
    );
  } finally {
    client.close();
  }
  await services.stopAll(); // flushes every service's spans

  const { spans } = receiver;
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
  // LLM_TRACE_CONTENT is off by default: no prompt or completion text in anything any service exported.
  const exported = spans.flatMap(textsOf).join("\n");
  expect(exported).toContain("trace-a"); // the request ids are there, as llm.request_id
  expect(exported).not.toContain("hello from");
  for (const text of completions) expect(exported).not.toContain(text.trim());
  expect(spans.some((s) => attr(s, "gen_ai.input.messages") ?? attr(s, "gen_ai.output.messages"))).toBe(false);
  const steps = spans.filter((s) => s.name === "llm.runner.step").map((s) => Number(attr(s, "llm.step.index")));
  expect(steps.sort((a, b) => a - b)).toEqual(steps.map((_, i) => i + 1)); // one span per engine step
});
