// Chat formatting with the model's own Jinja template (rendered by @huggingface/jinja, the engine
// transformers.js uses), or a default when the model has none.
import { Template } from "@huggingface/jinja";
import { LlmError } from "@llm/errors";

export interface ChatMessage {
  role: string;
  content: string;
}

export interface ChatTemplateOptions {
  /** End with the opening of an assistant turn, so generation continues as the assistant. */
  addGenerationPrompt?: boolean;
  /** A Jinja template to use instead of the model's. */
  template?: string;
}

/**
 * Used when the model ships no `chat_template` (GPT-2 has none). ChatML — `<|im_start|>role\ncontent<|im_end|>\n`
 * — is the most widely used convention (OpenAI, Qwen, many fine-tunes) and was transformers' own fallback
 * (`default_chat_template`), so prompts look the same as with Hugging Face tools. Its role markers are
 * explicit text, so turns stay unambiguous even for a model (like GPT-2) that has no tokens for them.
 */
export const DEFAULT_CHAT_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

export interface TemplateTokens {
  bos_token?: string;
  eos_token?: string;
  unk_token?: string;
  pad_token?: string;
}

export class ChatFormatter {
  private readonly compiled = new Map<string, Template>();

  constructor(
    private readonly modelTemplate: string | undefined,
    private readonly tokens: TemplateTokens,
  ) {}

  render(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): string {
    validateMessages(messages);
    const source = options.template ?? this.modelTemplate ?? DEFAULT_CHAT_TEMPLATE;
    const template = this.compile(source, options.template !== undefined);
    try {
      return template.render({
        ...this.tokens,
        messages: messages.map(({ role, content }) => ({ role, content })),
        add_generation_prompt: options.addGenerationPrompt === true,
      });
    } catch (err) {
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
    if (typeof message?.role !== "string" || message.role === "") {
      throw new LlmError("invalid_argument", `messages[${index}].role must be a non-empty string`);
    }
    if (typeof message.content !== "string") {
      throw new LlmError("invalid_argument", `messages[${index}].content must be a string`);
    }
  });
}
