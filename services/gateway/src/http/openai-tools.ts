// OpenAI tool calling on /v1/chat/completions: `tools`, `tool_choice` and `parallel_tool_calls` become the
// template's tools (rendered by the model's chat template) and, unless the choice is `none`, a structural-tag
// constraint: calls are written as Hermes/Qwen `<tool_call>{"name": …, "arguments": …}</tool_call>` blocks
// whose arguments must match the function's JSON schema. `required` and a named function force at least one
// call from the first token; `auto` lets the model write text and constrains a call once it starts.
import { jsonSchemaProblem } from "@llm/sampling";
import { shown } from "../shown.js";

export const TOOL_CALL_BEGIN = "<tool_call>";
export const TOOL_CALL_END = "</tool_call>";

export interface ToolCalling {
  /** The function names declared, in order. */
  names: string[];
  /** `tools` as JSON, for the chat template. */
  toolsJson: string;
  /** The structural tag (JSON) that constrains calls; undefined for tool_choice `none`. */
  structuralTag: string | undefined;
}

type Problem = (field: string, message: string) => void;

interface FunctionTool {
  name: string;
  parameters: Record<string, unknown>;
}

export function toolCallingOf(body: Record<string, unknown>, problem: Problem): ToolCalling | undefined {
  const tools = body.tools;
  if (tools === undefined || tools === null || (Array.isArray(tools) && tools.length === 0)) {
    if (body.tool_choice !== undefined && body.tool_choice !== null && body.tool_choice !== "none") {
      problem("tool_choice", "tool_choice needs tools");
    }
    return undefined;
  }
  if (!Array.isArray(tools)) {
    problem("tools", `tools must be a list of {"type": "function", "function": {...}}, got ${shown(tools)}`);
    return undefined;
  }
  const functions = tools.map((tool, i) => functionOf(tool, i, problem));
  if (functions.some((f) => f === undefined)) return undefined;
  const declared = functions as FunctionTool[];
  const names = declared.map((f) => f.name);
  const choice = choiceOf(body.tool_choice ?? "auto", names, problem);
  if (choice === undefined) return undefined;
  const parallel = body.parallel_tool_calls !== false;
  const toolsJson = JSON.stringify(tools);
  if (choice === "none") return { names, toolsJson, structuralTag: undefined };
  const allowed = typeof choice === "object" ? declared.filter((f) => f.name === choice.name) : declared;
  return { names, toolsJson, structuralTag: JSON.stringify(structuralTag(allowed, choice === "auto", parallel)) };
}

function functionOf(tool: unknown, i: number, problem: Problem): FunctionTool | undefined {
  const entry = tool as { type?: unknown; function?: { name?: unknown; parameters?: unknown } } | null;
  const fn = entry?.function;
  if (entry?.type !== "function" || typeof fn !== "object" || fn === null) {
    problem(`tools[${i}]`, `tools[${i}] must be {"type": "function", "function": {"name", "parameters"}}`);
    return undefined;
  }
  if (typeof fn.name !== "string" || !/^[a-zA-Z0-9_-]{1,64}$/.test(fn.name)) {
    problem(`tools[${i}].function.name`, `tools[${i}].function.name must be 1-64 letters, digits, _ or -`);
    return undefined;
  }
  const parameters = (fn.parameters ?? { type: "object", properties: {} }) as Record<string, unknown>;
  const schemaProblem = jsonSchemaProblem(parameters, false);
  if (schemaProblem) {
    problem(`tools[${i}].function.parameters`, `tools[${i}].function.parameters: ${schemaProblem}`);
    return undefined;
  }
  return { name: fn.name, parameters };
}

function choiceOf(
  choice: unknown,
  names: string[],
  problem: Problem,
): "auto" | "none" | "required" | { name: string } | undefined {
  if (choice === "auto" || choice === "none" || choice === "required") return choice;
  const named = (choice as { type?: unknown; function?: { name?: unknown } } | null)?.function?.name;
  if (typeof named !== "string") {
    problem(
      "tool_choice",
      `tool_choice must be "auto", "none", "required" or {"type": "function", "function": {"name"}}`,
    );
    return undefined;
  }
  if (!names.includes(named)) {
    problem(
      "tool_choice",
      `tool_choice names function "${named}", which is not in tools (declared: ${names.join(", ")})`,
    );
    return undefined;
  }
  return { name: named };
}

/** XGrammar's structural tag: one tag per function; `auto` lets free text lead up to the first call. */
function structuralTag(functions: readonly FunctionTool[], auto: boolean, parallel: boolean): object {
  const tags = functions.map(({ name, parameters }) => ({
    type: "tag",
    begin: `${TOOL_CALL_BEGIN}\n{"name": ${JSON.stringify(name)}, "arguments": `,
    content: { type: "json_schema", json_schema: parameters },
    end: `}\n${TOOL_CALL_END}`,
  }));
  const format = auto
    ? { type: "triggered_tags", triggers: [TOOL_CALL_BEGIN], tags, stop_after_first: !parallel }
    : { type: "tags_with_separator", tags, separator: "\n", at_least_one: true, stop_after_first: !parallel };
  return { type: "structural_tag", format };
}
