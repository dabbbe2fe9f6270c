// Checks of design §7 on a generation request, each problem named by its field with the limit to respect.
import { LlmError } from "@llm/errors";
import type { GenerateRequest } from "@llm/proto";
import { type ParamProblem, type StrategyNames, samplingParamProblems } from "@llm/sampling";
import type { ModelInfo } from "./served-models.js";
import { shown } from "./shown.js";
import { chatToolUse } from "./tools/tool-choice.js";
import { toolMessageProblems } from "./tools/tool-messages.js";

/** At most this many stop sequences per request (GenerateRequest.stop). */
export const MAX_STOP_SEQUENCES = 8;

export interface InputLimits {
  /** Largest prompt, in UTF-8 bytes (text; or a chat's contents, earlier calls' arguments and tools_json together). */
  maxInputBytes: number;
}

// Strategies are plugins of the sampler, which the gateway cannot list (the runner may sample in-process or
// remotely): the runner checks the name and its INVALID_ARGUMENT reaches the client unchanged.
const STRATEGIES_CHECKED_BY_RUNNER: StrategyNames = { has: () => true, names: () => [] };

/** Throws one INVALID_ARGUMENT listing every problem (`details.problems`: `{ field, message }[]`). */
export function validateRequest(request: GenerateRequest, model: ModelInfo, limits: InputLimits): void {
  const problems = [
    ...promptProblems(request, model, limits),
    ...maxTokensProblems(request, model),
    ...stopProblems(request),
    ...samplingParamProblems(request.sampling, model.vocabSize, STRATEGIES_CHECKED_BY_RUNNER).map(
      ({ field, message }) => ({
        field: `sampling.${field}`,
        message: `sampling.${message}`,
      }),
    ),
  ];
  if (problems.length > 0) {
    throw new LlmError("invalid_argument", `invalid request: ${problems.map((p) => p.message).join("; ")}`, {
      details: { problems },
    });
  }
}

/** The prompt's token count plus max_tokens must fit the model's context; known only after tokenizing. */
export function checkContextFits(promptTokens: number, maxTokens: number, model: ModelInfo): void {
  if (promptTokens + maxTokens <= model.contextLength) return;
  throw new LlmError("invalid_argument", contextOverflow(promptTokens, maxTokens, model), {
    details: { field: "max_tokens", promptTokens, maxTokens, contextLength: model.contextLength },
  });
}

function contextOverflow(promptTokens: number, maxTokens: number, model: ModelInfo): string {
  const room = model.contextLength - promptTokens;
  const fix =
    room > 0 ? `lower max_tokens to at most ${room} or shorten the prompt` : "shorten the prompt (it alone fills it)";
  return (
    `the prompt is ${promptTokens} tokens and max_tokens is ${maxTokens}: together more than model "${model.id}"'s ` +
    `context of ${model.contextLength} tokens; ${fix}`
  );
}

function promptProblems(request: GenerateRequest, model: ModelInfo, { maxInputBytes }: InputLimits): ParamProblem[] {
  const { prompt, maxTokens } = request;
  switch (prompt.case) {
    case undefined:
      return [{ field: "prompt", message: "prompt is missing: set prompt.text, prompt.chat or prompt.token_ids" }];
    case "text":
      if (prompt.value === "") return [{ field: "prompt.text", message: "prompt.text is empty" }];
      return sizeProblems("prompt.text", Buffer.byteLength(prompt.value), maxInputBytes);
    case "chat": {
      const { messages } = prompt.value;
      if (messages.length === 0) return [{ field: "prompt.chat.messages", message: "prompt.chat.messages is empty" }];
      const roles = messages.flatMap(({ role }, i) => roleProblems(role, `prompt.chat.messages[${i}].role`));
      // Everything the template renders counts: contents, earlier calls' arguments and the tool definitions.
      const bytes = messages.reduce(
        (sum, m) =>
          sum + Buffer.byteLength(m.content) + m.toolCalls.reduce((n, c) => n + Buffer.byteLength(c.arguments), 0),
        Buffer.byteLength(prompt.value.toolsJson),
      );
      return [...roles, ...toolProblems(request), ...sizeProblems("prompt.chat.messages", bytes, maxInputBytes)];
    }
    case "tokenIds":
      return tokenIdProblems(prompt.value.ids, maxTokens, model);
  }
}

/** Tools and earlier tool turns; calls are constrained by a structural tag, which no other constraint may join. */
function toolProblems({ prompt, sampling }: GenerateRequest): ParamProblem[] {
  if (prompt.case !== "chat") return [];
  const problems: ParamProblem[] = [];
  const problem = (field: string, message: string) => problems.push({ field, message });
  toolMessageProblems(prompt.value.messages, { messages: "prompt.chat.messages", arguments: "arguments" }, problem);
  const use = chatToolUse(prompt.value, problem);
  if (use && use.choice !== "none" && sampling?.constraint.case !== undefined) {
    problem(
      "sampling.constraint",
      "tool calls (tools with a tool_choice other than none) cannot be combined with another constraint " +
        "(response_format, guided_*, sampling.constraint)",
    );
  }
  return problems;
}

/** The roles a chat message may have: OpenAI's. Templates render each as their model expects. */
export const CHAT_ROLES: readonly string[] = ["system", "developer", "user", "assistant", "tool"];

function roleProblems(role: string, field: string): ParamProblem[] {
  if (CHAT_ROLES.includes(role)) return [];
  const got = role === "" ? "is empty" : `is ${shown(role)}`;
  return [{ field, message: `${field} ${got}: a message's role is one of ${CHAT_ROLES.join(", ")}` }];
}

/** A token-id prompt: not empty, every id in the vocabulary, and room left in the context for max_tokens. */
function tokenIdProblems(ids: readonly number[], maxTokens: number, model: ModelInfo): ParamProblem[] {
  if (ids.length === 0) return [{ field: "prompt.token_ids.ids", message: "prompt.token_ids.ids is empty" }];
  const bad = ids.findIndex((id) => id >= model.vocabSize);
  if (bad >= 0) {
    const field = `prompt.token_ids.ids[${bad}]`;
    const message = `${field} is ${ids[bad]}, not a token id of model "${model.id}" (0 to ${model.vocabSize - 1})`;
    return [{ field, message }];
  }
  // A max_tokens over the context alone is maxTokensProblems' to report.
  if (ids.length + maxTokens <= model.contextLength || maxTokens > model.contextLength) return [];
  return [{ field: "max_tokens", message: contextOverflow(ids.length, maxTokens, model) }];
}

function sizeProblems(field: string, bytes: number, maxInputBytes: number): ParamProblem[] {
  if (bytes <= maxInputBytes) return [];
  return [{ field, message: `${field} is ${bytes} bytes of UTF-8; at most ${maxInputBytes} are accepted` }];
}

function maxTokensProblems({ maxTokens }: GenerateRequest, model: ModelInfo): ParamProblem[] {
  if (maxTokens >= 1 && maxTokens <= model.contextLength) return [];
  return [
    {
      field: "max_tokens",
      message: `max_tokens must be from 1 to model "${model.id}"'s context length ${model.contextLength}, got ${maxTokens}`,
    },
  ];
}

function stopProblems({ stop }: GenerateRequest): ParamProblem[] {
  if (stop.length <= MAX_STOP_SEQUENCES) return [];
  return [{ field: "stop", message: `stop has ${stop.length} sequences; at most ${MAX_STOP_SEQUENCES} are allowed` }];
}
