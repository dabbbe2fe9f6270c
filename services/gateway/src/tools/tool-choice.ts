// A chat request's tools and tool_choice (OpenAI's, or ChatPrompt's on gRPC), checked alike for both APIs and
// turned into the structural tag that constrains calls: `required` and a named function force at least one
// call from the first token; `auto` lets the model write text and constrains a call once its trigger appears;
// `none` shows the tools to the template but neither constrains nor parses calls.
import type { ChatPrompt, GenerateRequest } from "@llm/proto";
import { ToolChoiceMode } from "@llm/proto";
import { jsonSchemaProblem } from "@llm/sampling";
import { shown } from "../shown.js";
import type { CallSyntax } from "./tool-syntax.js";

export type ToolChoice = "auto" | "none" | "required" | { name: string };

export interface FunctionTool {
  name: string;
  parameters: Record<string, unknown>;
}

export interface ToolUse {
  functions: FunctionTool[];
  choice: ToolChoice;
  /** False: at most one call per answer. */
  parallel: boolean;
}

type Problem = (field: string, message: string) => void;

/** How the fields are called in the API being checked, for the problems' messages. */
export interface ToolFieldNames {
  tools: string;
  toolChoice: string;
}

/**
 * Checks `tools` (OpenAI `tools` entries) against `choice` (undefined: not given, which is auto); reports each
 * problem and returns undefined when there is one, or when there are no tools.
 */
export function toolUseOf(
  tools: unknown,
  given: ToolChoice | undefined,
  parallel: boolean,
  names: ToolFieldNames,
  problem: Problem,
): ToolUse | undefined {
  const choice = given ?? "auto";
  if (tools === undefined || tools === null || (Array.isArray(tools) && tools.length === 0)) {
    if (given !== undefined && given !== "none") problem(names.toolChoice, `${names.toolChoice} needs tools`);
    return undefined;
  }
  if (!Array.isArray(tools)) {
    problem(
      names.tools,
      `${names.tools} must be a list of {"type": "function", "function": {...}}, got ${shown(tools)}`,
    );
    return undefined;
  }
  const functions = tools.map((tool, i) => functionOf(tool, `${names.tools}[${i}]`, problem));
  if (functions.some((f) => f === undefined)) return undefined;
  const declared = functions as FunctionTool[];
  if (typeof choice === "object" && !declared.some((f) => f.name === choice.name)) {
    problem(
      names.toolChoice,
      `${names.toolChoice} names function "${choice.name}", which is not in tools (declared: ${declared.map((f) => f.name).join(", ")})`,
    );
    return undefined;
  }
  return { functions: declared, choice, parallel };
}

/** A gRPC ChatPrompt's tools; a tools_json that is not JSON is a problem. */
export function chatToolUse(chat: ChatPrompt, problem: Problem): ToolUse | undefined {
  const names = { tools: "prompt.chat.tools_json", toolChoice: "prompt.chat.tool_choice" };
  let tools: unknown;
  if (chat.toolsJson !== "") {
    try {
      tools = JSON.parse(chat.toolsJson);
    } catch (err) {
      problem(names.tools, `${names.tools} is not valid JSON: ${(err as Error).message}`);
      return undefined;
    }
  }
  return toolUseOf(tools, chatToolChoice(chat), chat.parallelToolCalls !== false, names, problem);
}

function chatToolChoice({ toolChoice }: ChatPrompt): ToolChoice | undefined {
  if (toolChoice.case === "toolChoiceFunction") return { name: toolChoice.value };
  switch (toolChoice.value) {
    case ToolChoiceMode.NONE:
      return "none";
    case ToolChoiceMode.REQUIRED:
      return "required";
    case ToolChoiceMode.AUTO:
      return "auto";
    default:
      return undefined; // unset, or a mode this gateway does not know: auto
  }
}

/** ChatPrompt's tool_choice fields for a choice. */
export function chatToolChoiceOf(choice: ToolChoice): ChatPrompt["toolChoice"] {
  if (typeof choice === "object") return { case: "toolChoiceFunction", value: choice.name };
  const modes = { auto: ToolChoiceMode.AUTO, none: ToolChoiceMode.NONE, required: ToolChoiceMode.REQUIRED };
  return { case: "toolChoiceMode", value: modes[choice] };
}

function functionOf(tool: unknown, field: string, problem: Problem): FunctionTool | undefined {
  const entry = tool as { type?: unknown; function?: { name?: unknown; parameters?: unknown } } | null;
  const fn = entry?.function;
  if (entry?.type !== "function" || typeof fn !== "object" || fn === null) {
    problem(field, `${field} must be {"type": "function", "function": {"name", "parameters"}}`);
    return undefined;
  }
  if (typeof fn.name !== "string" || !/^[a-zA-Z0-9_-]{1,64}$/.test(fn.name)) {
    problem(`${field}.function.name`, `${field}.function.name must be 1-64 letters, digits, _ or -`);
    return undefined;
  }
  const parameters = (fn.parameters ?? { type: "object", properties: {} }) as Record<string, unknown>;
  const schemaProblem = jsonSchemaProblem(parameters, false);
  if (schemaProblem) {
    problem(`${field}.function.parameters`, `${field}.function.parameters: ${schemaProblem}`);
    return undefined;
  }
  return { name: fn.name, parameters };
}

/** XGrammar's structural tag for the calls `use` allows, in `syntax`; undefined for `none`. */
export function structuralTagOf({ functions, choice, parallel }: ToolUse, syntax: CallSyntax): string | undefined {
  if (choice === "none") return undefined;
  const allowed = typeof choice === "object" ? functions.filter((f) => f.name === choice.name) : functions;
  const tags = allowed.map(({ name, parameters }) => ({
    type: "tag",
    begin: syntax.begin(name),
    content: { type: "json_schema", json_schema: parameters },
    end: syntax.close,
  }));
  const format =
    choice === "auto"
      ? { type: "triggered_tags", triggers: [syntax.trigger], tags, stop_after_first: !parallel }
      : {
          type: "tags_with_separator",
          tags,
          separator: syntax.between,
          at_least_one: true,
          stop_after_first: !parallel,
        };
  return JSON.stringify({ type: "structural_tag", format });
}

/** The structural tag that constrains a chat request's calls; undefined without tools or for `none`. */
export function toolConstraint({ prompt }: GenerateRequest, syntax: CallSyntax): string | undefined {
  const use = prompt.case === "chat" ? chatToolUse(prompt.value, () => {}) : undefined;
  return use && structuralTagOf(use, syntax);
}
