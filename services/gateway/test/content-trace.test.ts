// LLM_TRACE_CONTENT's recorder on a real OTel SDK span: the prompt and completion as GenAI messages, each text cut
// at its bound, and nothing at all when off (the pipeline-level checks are in tests/telemetry).
import { create, GenerateRequestSchema } from "@llm/proto";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { expect, it } from "vitest";
import { TRACE_CONTENT_MAX_CHARS, traceContent } from "../src/content-trace.js";

const exporter = new InMemorySpanExporter();
const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).getTracer("test");

function recorded(enabled: boolean, prompt: string, completion: string[]) {
  const span = tracer.startSpan("request");
  const content = traceContent(
    enabled,
    create(GenerateRequestSchema, { prompt: { case: "text", value: prompt } }),
    span,
  );
  for (const piece of completion) content.completion(piece);
  content.finish("length");
  span.end();
  return exporter.getFinishedSpans().at(-1)?.attributes ?? {};
}

it("records the prompt and the completion pieces as GenAI input and output messages", () => {
  const attributes = recorded(true, "Once upon", [" a", " time"]);
  expect(JSON.parse(String(attributes["gen_ai.input.messages"]))).toEqual([
    { role: "user", parts: [{ type: "text", content: "Once upon" }] },
  ]);
  expect(JSON.parse(String(attributes["gen_ai.output.messages"]))).toEqual([
    { role: "assistant", parts: [{ type: "text", content: " a time" }], finish_reason: "length" },
  ]);
});

it("cuts each text at its bound, marked with an ellipsis", () => {
  const long = "x".repeat(TRACE_CONTENT_MAX_CHARS + 100);
  const attributes = recorded(true, long, [long, long]);
  const [input] = JSON.parse(String(attributes["gen_ai.input.messages"]));
  const [output] = JSON.parse(String(attributes["gen_ai.output.messages"]));
  expect(input.parts[0].content).toBe(`${"x".repeat(TRACE_CONTENT_MAX_CHARS)}…`);
  expect(output.parts[0].content).toBe(`${"x".repeat(TRACE_CONTENT_MAX_CHARS)}…`);
});

it("records nothing when off", () => {
  expect(recorded(false, "private prompt", ["private completion"])).toEqual({});
});
