// What the gateway and runner put on their spans beyond timings, received by a real OTLP receiver: with
// LLM_TRACE_CONTENT=true the prompt and completion text (GenAI convention attributes) on the gateway's request
// span; and failures (a refused request, a client cancel, a request the runner rejects) as status ERROR with
// `error.type`. The default (no text anywhere) is asserted by traces.test.ts.
import { ensureModel } from "@llm/model-pack";
import { GenerationService, ModelRunnerService } from "@llm/proto";
import { createClient } from "@llm/rpc";
import { ServiceGroup } from "@llm/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { attr, type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from "./otlp-receiver.js";

const GATEWAY_SPAN = "llm.v1.GenerationService/Generate";
const STATUS_ERROR = 2;

let receiver: OtlpReceiver;
const services = new ServiceGroup();
let gatewayAddress = "";
let runnerAddress = "";

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  const model = await ensureModel("tiny");
  const env = { ...receiver.env, LLM_MODEL_DIR: model.dir, LLM_MODEL_ID: "tiny" };
  const [tokenizer, runner, detokenizer] = await services.start([
    ["services/tokenizer/src/main.ts", { name: "tokenizer", env }],
    ["services/model-runner/src/main.ts", { name: "model-runner", env, timeoutMs: 60_000 }],
    ["services/detokenizer/src/main.ts", { name: "detokenizer", env }],
  ]);
  const [gateway] = await services.start([
    [
      "services/gateway/src/main.ts",
      {
        name: "gateway",
        env: {
          ...receiver.env,
          LLM_TOKENIZER_URL: tokenizer.address,
          LLM_RUNNER_URL: runner.address,
          LLM_DETOKENIZER_URL: detokenizer.address,
          LLM_TRACE_CONTENT: "true",
        },
      },
    ],
  ]);
  gatewayAddress = gateway.address;
  runnerAddress = runner.address;
}, 90_000);

afterAll(async () => {
  await services.stopAll();
  await receiver?.close();
});

/** The span `service` exported named `name` for `requestId`, once it has arrived (spans export in batches). */
async function spanOf(service: string, name: string, requestId: string): Promise<ReceivedSpan> {
  const find = () => {
    const byId = receiver.spans.find((s) => attr(s, "llm.request_id") === requestId);
    return receiver.spans.find((s) => s.service === service && s.name === name && s.traceId === byId?.traceId);
  };
  await expect.poll(find, { timeout: 15_000, interval: 50 }).toBeDefined();
  return find() as ReceivedSpan;
}

it("LLM_TRACE_CONTENT=true: the prompt and the completion are on the gateway's request span", async () => {
  const client = createClient(GenerationService, gatewayAddress);
  const prompt = "The recorded prompt says hello";
  let completion = "";
  try {
    for await (const { event } of client.generate({
      requestId: "content-on",
      prompt: { case: "text", value: prompt },
      maxTokens: 6,
      sampling: { temperature: 0 },
      ignoreEos: true,
    } as never)) {
      if (event.case === "delta") completion += event.value.text;
    }
  } finally {
    client.close();
  }
  const span = await spanOf("gateway", GATEWAY_SPAN, "content-on");
  expect(JSON.parse(attr(span, "gen_ai.input.messages") ?? "null")).toEqual([
    { role: "user", parts: [{ type: "text", content: prompt }] },
  ]);
  expect(JSON.parse(attr(span, "gen_ai.output.messages") ?? "null")).toEqual([
    { role: "assistant", parts: [{ type: "text", content: completion }], finish_reason: "length" },
  ]);
  // Only the gateway records text: the runner's spans have token counts.
  const runnerSpan = await spanOf("model-runner", "llm.runner.generate", "content-on");
  expect(attr(runnerSpan, "gen_ai.input.messages")).toBeUndefined();
  expect(attr(runnerSpan, "gen_ai.usage.output_tokens")).toBe("6");
});

it("marks a refused request ERROR with error.type invalid_argument at the gateway", async () => {
  const client = createClient(GenerationService, gatewayAddress);
  try {
    const refused = (async () => {
      for await (const _ of client.generate({
        requestId: "refused",
        prompt: { case: "text", value: "hi" },
        maxTokens: 4,
        sampling: { temperature: 3 },
      } as never)) {
        // nothing arrives
      }
    })();
    await expect(refused).rejects.toMatchObject({ code: "invalid_argument" });
  } finally {
    client.close();
  }
  const span = await spanOf("gateway", GATEWAY_SPAN, "refused");
  expect(span.status?.code).toBe(STATUS_ERROR);
  expect(attr(span, "error.type")).toBe("invalid_argument");
  expect(span.status?.message).toMatch(/temperature/);
});

it("marks a request the client cancels mid-stream ERROR with error.type cancelled, at the gateway and the runner", async () => {
  const client = createClient(GenerationService, gatewayAddress);
  const controller = new AbortController();
  try {
    const stream = client.generate(
      {
        requestId: "cancelled",
        prompt: { case: "text", value: "Once upon a time" },
        maxTokens: 500,
        ignoreEos: true,
      } as never,
      { signal: controller.signal },
    );
    await expect(
      (async () => {
        for await (const _ of stream) controller.abort(); // cancel at the first delta
      })(),
    ).rejects.toThrow();
  } finally {
    client.close();
  }
  for (const [service, name] of [
    ["gateway", GATEWAY_SPAN],
    ["model-runner", "llm.v1.ModelRunnerService/Generate"],
    ["model-runner", "llm.runner.generate"],
  ]) {
    const span = await spanOf(service, name, "cancelled");
    expect(span.status?.code, `${service} ${name}`).toBe(STATUS_ERROR);
    expect(attr(span, "error.type"), `${service} ${name}`).toBe("cancelled");
  }
});

it("marks a request the runner rejects ERROR with the error's code on the runner's spans", async () => {
  const runner = createClient(ModelRunnerService, runnerAddress);
  try {
    const rejected = (async () => {
      for await (const _ of runner.generate({
        requestId: "runner-rejected",
        promptTokenIds: [1, 2, 3],
        maxTokens: 4,
        sampling: { strategy: "no-such-strategy" },
      } as never)) {
        // nothing arrives
      }
    })();
    await expect(rejected).rejects.toMatchObject({ code: "invalid_argument" });
  } finally {
    runner.close();
  }
  const span = await spanOf("model-runner", "llm.runner.generate", "runner-rejected");
  expect(span.status?.code).toBe(STATUS_ERROR);
  expect(attr(span, "error.type")).toBe("invalid_argument");
});
