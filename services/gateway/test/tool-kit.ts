// Tools the tool-calling tests declare, and the check that calls name one of them with schema-valid arguments.
import { Ajv } from "ajv";
import type { ChatCompletionFunctionTool } from "openai/resources/chat/completions";
import { expect } from "vitest";

export const TOOLS: ChatCompletionFunctionTool[] = [
  {
    type: "function",
    function: {
      name: "get_weather",
      description: "Current weather in a city",
      parameters: {
        type: "object",
        properties: { city: { type: "string", pattern: "^[A-Z][a-z]{1,8}$" }, unit: { enum: ["c", "f"] } },
        required: ["city", "unit"],
        additionalProperties: false,
      },
    },
  },
  {
    type: "function",
    function: {
      name: "get_time",
      parameters: {
        type: "object",
        properties: { zone: { enum: ["UTC", "CET", "PST"] } },
        required: ["zone"],
        additionalProperties: false,
      },
    },
  },
];
const ajv = new Ajv();
export const validators = new Map(
  TOOLS.map((tool) => [tool.function.name, ajv.compile(tool.function.parameters ?? {})]),
);

export type Call = { name: string; arguments: string };

export function expectValidCalls(calls: Call[], allowed = [...validators.keys()]): void {
  expect(calls.length).toBeGreaterThan(0);
  for (const call of calls) {
    expect(allowed).toContain(call.name);
    const validate = validators.get(call.name);
    expect(validate?.(JSON.parse(call.arguments)), `${call.arguments} ${JSON.stringify(validate?.errors)}`).toBe(true);
  }
}
