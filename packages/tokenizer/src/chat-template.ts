// Chat formatting with the model's own Jinja template (rendered by @huggingface/jinja, the engine
// transformers.js uses), with the same variables transformers passes: messages as given (OpenAI shapes:
// content parts, assistant `tool_calls`, `tool_call_id`), `tools`, `add_generation_prompt`, the special
// tokens, and any extra keyword arguments (Qwen 3's `enable_thinking`). A model without a template is
// refused: guessing a format would put markers the model never saw into its prompt.
import { Template } from "@huggingface/jinja";
import { LlmError } from "@llm/errors";

/** One message: `role` plus whatever the template reads (`content` text or parts, `tool_calls`, ...). */
export interface ChatMessage {
  role: string;
  content?: unknown;
  [field: string]: unknown;
}

/** The shape of a model family's tool calls in its output. */
export type ToolCallSyntax = "hermes" | "llama3_json";

export interface ChatTemplateOptions {
  /** End with the opening of an assistant turn, so generation continues as the assistant. */
  addGenerationPrompt?: boolean;
  /** A Jinja template to use instead of the model's. */
  template?: string;
  /** Tool definitions (OpenAI `tools` entries), passed to the template as `tools`. */
  tools?: readonly unknown[];
  /** Extra template variables (`chat_template_kwargs`), e.g. `{ enable_thinking: false }`. */
  kwargs?: Readonly<Record<string, unknown>>;
}

export interface TemplateTokens {
  bos_token?: string;
  eos_token?: string;
  unk_token?: string;
  pad_token?: string;
}

/** Variables the caller may not override through `kwargs`. */
const RESERVED = new Set(["messages", "tools", "add_generation_prompt"]);

export class ChatFormatter {
  private readonly compiled = new Map<string, Template>();

  constructor(
    private readonly modelTemplate: string | undefined,
    private readonly tokens: TemplateTokens,
  ) {}

  get hasTemplate(): boolean {
    return this.modelTemplate !== undefined;
  }

  /**
   * How the template (a caller's, else the model's) teaches the model to write tool calls: `<tool_call>` tags
   * (Hermes, Qwen), else bare JSON for Llama 3's header-marker templates (3.1+ prompt for
   * `{"name", "parameters"}`), else the Hermes tags, the most common convention.
   */
  toolCallSyntax(template?: string): ToolCallSyntax {
    const source = template ?? this.modelTemplate ?? "";
    if (source.includes("<tool_call>")) return "hermes";
    return source.includes("<|start_header_id|>") ? "llama3_json" : "hermes";
  }

  render(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): string {
    validateMessages(messages);
    const source = options.template ?? this.modelTemplate;
    if (source === undefined) {
      throw new LlmError(
        "failed_precondition",
        "this model has no chat template (no chat_template in tokenizer_config.json, no chat_template.jinja): " +
          "set LLM_CHAT_TEMPLATE to a Jinja template file, or send a plain-text prompt",
        { details: { setting: "LLM_CHAT_TEMPLATE" } },
      );
    }
    const kwargs = options.kwargs ?? {};
    for (const key of Object.keys(kwargs)) {
      if (RESERVED.has(key)) throw new LlmError("invalid_argument", `chat_template_kwargs may not set \`${key}\``);
    }
    const template = this.compile(source, options.template !== undefined);
    try {
      return template.render({
        ...this.tokens,
        ...kwargs,
        messages,
        tools: options.tools === undefined || options.tools.length === 0 ? null : options.tools,
        add_generation_prompt: options.addGenerationPrompt === true,
      });
    } catch (err) {
      // Templates raise on conversations they do not support (Gemma: roles must alternate).
      throw new LlmError("invalid_argument", `the chat template rejected the messages: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /** Compiles a template; only the model's own is kept, so callers' one-off templates cannot grow memory. */
  private compile(source: string, fromCaller: boolean): Template {
    let template = this.compiled.get(source);
    if (template === undefined) {
      try {
        template = new Template(source);
      } catch (err) {
        // A caller's template is their mistake; the model's own is a deployment problem.
        const code = fromCaller ? "invalid_argument" : "failed_precondition";
        throw new LlmError(code, `chat template does not parse: ${(err as Error).message}`, { cause: err });
      }
      if (!fromCaller) this.compiled.set(source, template);
    }
    return template;
  }
}

function validateMessages(messages: readonly ChatMessage[]): void {
  if (!Array.isArray(messages)) throw new LlmError("invalid_argument", "messages must be an array");
  messages.forEach((message, index) => {
    if (typeof message !== "object" || message === null || Array.isArray(message)) {
      throw new LlmError("invalid_argument", `messages[${index}] must be an object`);
    }
    if (typeof message.role !== "string" || message.role === "") {
      throw new LlmError("invalid_argument", `messages[${index}].role must be a non-empty string`);
    }
    const { content } = message;
    const parts = Array.isArray(content) && content.every((part) => typeof part === "object" && part !== null);
    if (!(typeof content === "string" || content === null || content === undefined || parts)) {
      throw new LlmError("invalid_argument", `messages[${index}].content must be a string or a list of content parts`);
    }
  });
}
