// OpenAI completion and chat bodies as our GenerateRequest. Only the JSON types are checked here; the ranges
// (temperature, top_p, max_tokens, stop count, …) are validateRequest's, the same checks the gRPC API gets.
import { LlmError } from "@llm/errors";
import {
  ChatPromptSchema,
  create,
  type GenerateRequest,
  GenerateRequestSchema,
  type MessageInitShape,
  SpeculativeMode,
} from "@llm/proto";
import type { ParamProblem } from "@llm/sampling";
import { shown } from "../shown.js";
import { toolMessageProblems } from "../tools/tool-messages.js";
import { constraintOf } from "./openai-constraint.js";
import { chatToolFields, messageToolFields } from "./openai-tools.js";

export type Endpoint = "completions" | "chat";

export interface OpenAiRequest {
  endpoint: Endpoint;
  request: GenerateRequest;
  stream: boolean;
  /** stream_options.include_usage: a last chunk with usage (and `usage: null` on the others). */
  includeUsage: boolean;
  /** OpenAI's end-user id, for the log only. */
  user: string | undefined;
}

// OpenAI's documented default for completions; chat has none there (until the context is full): ours is bounded.
const DEFAULT_MAX_TOKENS: Record<Endpoint, number> = { completions: 16, chat: 256 };

type RequestInit = MessageInitShape<typeof GenerateRequestSchema>;

const SPECULATIVE_MODES: ReadonlyMap<string, SpeculativeMode> = new Map([
  ["off", SpeculativeMode.OFF],
  ["ngram", SpeculativeMode.NGRAM],
  ["draft", SpeculativeMode.DRAFT],
]);
type SamplingInit = NonNullable<RequestInit["sampling"]>;

/** Throws one INVALID_ARGUMENT naming every field of the wrong type or unsupported value. */
export function parseOpenAiRequest(
  endpoint: Endpoint,
  body: Record<string, unknown>,
  requestId: string,
): OpenAiRequest {
  const fields = new Fields(body);
  const problem = (field: string, message: string) => fields.problem(field, message);
  const prompt = endpoint === "chat" ? fields.chatPrompt() : fields.textPrompt();
  const maxTokens =
    fields.integer("max_completion_tokens") ?? fields.integer("max_tokens") ?? DEFAULT_MAX_TOKENS[endpoint];
  fields.unsupported("n", (n) => n !== 1, "this server generates one choice per request: send n requests instead");
  fields.unsupported("best_of", (n) => n !== 1, "best_of other than 1 is not supported");
  fields.unsupported("echo", (echo) => echo !== false, "echo is not supported");
  fields.unsupported("suffix", () => true, "suffix (insertion) is not supported");
  if (endpoint !== "chat") fields.unsupported("tools", () => true, "tools need /v1/chat/completions");
  fields.unsupported("functions", () => true, "function calls are not supported");
  const sampling: SamplingInit = {
    temperature: fields.number("temperature"),
    topP: fields.number("top_p"),
    presencePenalty: fields.number("presence_penalty"),
    frequencyPenalty: fields.number("frequency_penalty"),
    logitBias: fields.logitBias(),
    seed: fields.seed(),
    // Our extensions, as vLLM names them.
    topK: fields.integer("top_k"),
    minP: fields.number("min_p"),
    repetitionPenalty: fields.number("repetition_penalty"),
    strategy: fields.string("sampler"),
    ...fields.logprobs(endpoint),
    constraint: constraintOf(fields.body, problem),
  };
  const streamOptions = fields.object("stream_options");
  const request: OpenAiRequest = {
    endpoint,
    request: create(GenerateRequestSchema, {
      model: fields.string("model") ?? "",
      prompt,
      maxTokens,
      sampling,
      stop: fields.stop(),
      requestId,
      cacheSalt: fields.string("cache_salt"),
      speculative: fields.speculative(),
      // Our extension, as vLLM names it: false leaves the model's BOS/EOS off a completions prompt.
      addSpecialTokens: endpoint === "completions" ? fields.boolean("add_special_tokens") : undefined,
    }),
    stream: fields.boolean("stream") ?? false,
    includeUsage: streamOptions?.include_usage === true,
    user: fields.string("user"),
  };
  if (fields.problems.length > 0) {
    throw new LlmError("invalid_argument", `invalid request: ${fields.problems.map((p) => p.message).join("; ")}`, {
      details: { problems: fields.problems },
    });
  }
  return request;
}

/** Typed reads of the body's fields; `null` counts as absent, as in OpenAI's API. Wrong types become problems. */
export class Fields {
  readonly problems: ParamProblem[] = [];

  constructor(readonly body: Record<string, unknown>) {}

  private read<T>(name: string, is: (value: unknown) => value is T, expected: string): T | undefined {
    const value = this.body[name];
    if (value === undefined || value === null) return undefined;
    if (is(value)) return value;
    this.problem(name, `${name} must be ${expected}, got ${shown(value)}`);
    return undefined;
  }

  problem(field: string, message: string): void {
    this.problems.push({ field, message });
  }

  number(name: string): number | undefined {
    return this.read(name, (v): v is number => typeof v === "number", "a number");
  }

  integer(name: string): number | undefined {
    return this.read(name, (v): v is number => Number.isSafeInteger(v), "an integer");
  }

  string(name: string): string | undefined {
    return this.read(name, (v): v is string => typeof v === "string", "a string");
  }

  boolean(name: string): boolean | undefined {
    return this.read(name, (v): v is boolean => typeof v === "boolean", "true or false");
  }

  object(name: string): Record<string, unknown> | undefined {
    const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && !Array.isArray(v);
    return this.read(name, isObject, "an object");
  }

  /** A field we know but cannot honour: refused with `why` rather than silently ignored. */
  unsupported(name: string, refused: (value: unknown) => boolean, why: string): void {
    const value = this.body[name];
    if (value !== undefined && value !== null && refused(value)) this.problem(name, `${name}: ${why}`);
  }

  /** A string or token ids, alone or as a list of exactly one (OpenAI's batch shape; we serve one prompt per request). */
  textPrompt(): RequestInit["prompt"] {
    const prompt = this.body.prompt;
    const single = Array.isArray(prompt) && prompt.length === 1 && typeof prompt[0] !== "number" ? prompt[0] : prompt;
    if (typeof single === "string") return { case: "text", value: single };
    if (Array.isArray(single) && single.every((id) => typeof id === "number")) {
      const bad = single.findIndex((id) => !(Number.isSafeInteger(id) && id >= 0 && id < 2 ** 32));
      if (bad < 0) return { case: "tokenIds", value: { ids: single } };
      this.problem("prompt", `prompt[${bad}] is ${shown(single[bad])}: token ids are non-negative integers`);
      return { case: undefined };
    }
    this.problem(
      "prompt",
      "prompt must be a string, a list of token ids, or a list of exactly one of these (batches are not supported)",
    );
    return { case: undefined };
  }

  /** The messages (with their tool turns) and the tool fields; the tool turns are checked as gRPC's are. */
  chatPrompt(): RequestInit["prompt"] {
    const messages = this.body.messages;
    const problem = (field: string, message: string) => this.problem(field, message);
    if (!Array.isArray(messages)) {
      this.problem("messages", "messages must be a list of {role, content} objects");
      return { case: undefined };
    }
    const parsed = messages.map((entry: unknown, i) => {
      const message = (typeof entry === "object" && entry !== null ? entry : {}) as Record<string, unknown>;
      const { role, content } = message;
      if (typeof role !== "string") this.problem(`messages[${i}].role`, `messages[${i}].role must be a string`);
      const tools = messageToolFields(message, i, problem);
      return { role: typeof role === "string" ? role : "", content: this.messageText(content, i), ...tools };
    });
    const chat = create(ChatPromptSchema, { messages: parsed, ...chatToolFields(this.body, problem) });
    if (this.problems.length === 0) {
      toolMessageProblems(chat.messages, { messages: "messages", arguments: "function.arguments" }, problem);
    }
    return { case: "chat", value: chat };
  }

  /** A message's content: a string, or a list of text parts joined (other part types cannot be rendered). */
  private messageText(content: unknown, i: number): string {
    if (content === undefined || content === null) return "";
    if (typeof content === "string") return content;
    if (Array.isArray(content)) {
      const texts = content.map((part: { type?: unknown; text?: unknown }) =>
        part?.type === "text" && typeof part.text === "string" ? part.text : undefined,
      );
      if (texts.every((text) => text !== undefined)) return texts.join("");
    }
    this.problem(`messages[${i}].content`, `messages[${i}].content must be a string or a list of text parts`);
    return "";
  }

  stop(): string[] {
    const stop = this.body.stop;
    if (stop === undefined || stop === null) return [];
    if (typeof stop === "string") return [stop];
    if (Array.isArray(stop) && stop.every((s) => typeof s === "string")) return stop;
    this.problem("stop", "stop must be a string or a list of strings");
    return [];
  }

  /** OpenAI seeds are signed 64-bit; ours unsigned: the same 64 bits. */
  /** Our extension: "off", "ngram" or "draft" (unset: the runner's default). */
  speculative(): SpeculativeMode {
    const value = this.string("speculative");
    if (value === undefined) return SpeculativeMode.UNSPECIFIED;
    const mode = SPECULATIVE_MODES.get(value);
    if (mode === undefined)
      this.problem("speculative", `speculative must be "off", "ngram" or "draft", got ${shown(value)}`);
    return mode ?? SpeculativeMode.UNSPECIFIED;
  }

  seed(): bigint | undefined {
    const seed = this.integer("seed");
    return seed === undefined ? undefined : BigInt.asUintN(64, BigInt(seed));
  }

  /** {"<token id>": bias}; the bias range is checked with the other sampling params. */
  logitBias(): Record<number, number> {
    const bias = this.object("logit_bias") ?? {};
    const out: Record<number, number> = {};
    for (const [key, value] of Object.entries(bias)) {
      if (!/^\d+$/.test(key) || typeof value !== "number") {
        this.problem("logit_bias", `logit_bias maps token ids to numbers; got ${shown(key)}: ${shown(value)}`);
        continue;
      }
      out[Number(key)] = value;
    }
    return out;
  }

  /** completions: `logprobs` is how many alternatives (0 = the chosen token's only); chat: a flag and `top_logprobs`. */
  logprobs(endpoint: Endpoint): Pick<SamplingInit, "logprobs" | "topLogprobs"> {
    if (endpoint === "completions") {
      const count = this.integer("logprobs");
      return { logprobs: count !== undefined, topLogprobs: count ?? 0 };
    }
    const topLogprobs = this.integer("top_logprobs") ?? 0;
    const logprobs = this.boolean("logprobs") ?? false;
    if (topLogprobs > 0 && !logprobs) this.problem("top_logprobs", "top_logprobs needs logprobs: true");
    return { logprobs, topLogprobs };
  }
}
