// gRPC handlers of llm.v1.TokenizerService over a catalog of Hugging Face BPE tokenizers.
import { LlmError } from "@llm/errors";
import {
  type ApplyChatTemplateRequest,
  type ChatMessage as ProtoChatMessage,
  type TokenizerService,
  ToolCallSyntax,
} from "@llm/proto";
import type { ServiceImpl } from "@llm/rpc";
import type { ChatMessage, Tokenizer, TokenizerCatalog } from "@llm/tokenizer";

export interface TokenizerServiceOptions {
  /** LLM_SPECIAL_TOKEN_TEXT: `reject` refuses special-token text wherever it would become a control token. */
  specialTokenText: "control" | "reject";
}

export function tokenizerService(
  catalog: TokenizerCatalog,
  { specialTokenText }: TokenizerServiceOptions = { specialTokenText: "control" },
): ServiceImpl<typeof TokenizerService> {
  const refuseSpecialText = (tokenizer: Tokenizer, text: string, field: string) => {
    if (specialTokenText !== "reject") return;
    const token = tokenizer.findSpecialToken(text);
    if (token === undefined) return;
    throw new LlmError(
      "invalid_argument",
      `${field} contains the special token ${JSON.stringify(token)}; this deployment refuses special-token text ` +
        "in prompts (LLM_SPECIAL_TOKEN_TEXT=reject)",
      { details: { field, token } },
    );
  };

  return {
    async encode({ model, text, allowSpecialTokens, addSpecialTokens }) {
      const tokenizer = await catalog.get(model);
      if (allowSpecialTokens) refuseSpecialText(tokenizer, text, "text");
      return {
        tokenIds: Array.from(tokenizer.encode(text, { allowSpecial: allowSpecialTokens, addSpecialTokens })),
      };
    },

    async decode({ model, tokenIds, skipSpecialTokens }) {
      const tokenizer = await catalog.get(model);
      return { text: tokenizer.decode(tokenIds, { skipSpecialTokens }) };
    },

    async countTokens({ model, text }) {
      const tokenizer = await catalog.get(model);
      return { count: tokenizer.count(text) };
    },

    async applyChatTemplate(request) {
      const tokenizer = await catalog.get(request.model);
      const messages = conversationOf(request);
      messages.forEach((message, i) => {
        const texts = typeof message.content === "string" ? [message.content] : partTexts(message.content);
        for (const text of texts) refuseSpecialText(tokenizer, text, `messages[${i}].content`);
      });
      const text = tokenizer.applyChatTemplate(messages, {
        addGenerationPrompt: request.addGenerationPrompt,
        template: request.chatTemplate,
        tools: parseJson(request.toolsJson, "tools_json", Array.isArray, "an array") as unknown[] | undefined,
        kwargs: parseJson(request.chatTemplateKwargsJson, "chat_template_kwargs_json", isPlainObject, "an object") as
          | Record<string, unknown>
          | undefined,
      });
      // The template writes special tokens (bos/eos, role markers) on purpose: they must encode as such.
      const tokenIds = Array.from(tokenizer.encode(text, { allowSpecial: true }));
      return { text, tokenIds, toolCallSyntax: TOOL_CALL_SYNTAX[tokenizer.toolCallSyntax(request.chatTemplate)] };
    },
  };
}

const TOOL_CALL_SYNTAX = { hermes: ToolCallSyntax.UNSPECIFIED, llama3_json: ToolCallSyntax.LLAMA3_JSON } as const;

function conversationOf(request: ApplyChatTemplateRequest): ChatMessage[] {
  if (request.messagesJson === undefined) return request.messages.map(templateMessage);
  return parseJson(request.messagesJson, "messages_json", Array.isArray, "an array") as ChatMessage[];
}

/**
 * A message as templates read it (OpenAI's shape): an assistant's calls with their arguments as an object, as
 * transformers and vLLM pass them (Llama 3.1's template writes `arguments | tojson`), and a tool result's id.
 */
function templateMessage({ role, content, toolCalls, toolCallId }: ProtoChatMessage, i: number): ChatMessage {
  const message: ChatMessage = { role, content };
  if (toolCalls.length > 0) {
    message.tool_calls = toolCalls.map(({ id, name, arguments: args }, j) => ({
      id,
      type: "function",
      function: {
        name,
        arguments: parseJson(args, `messages[${i}].tool_calls[${j}].arguments`, isPlainObject, "an object"),
      },
    }));
  }
  if (toolCallId !== "") message.tool_call_id = toolCallId;
  return message;
}

/** The texts of OpenAI content parts (`{type: "text", text}`). */
function partTexts(content: unknown): string[] {
  if (!Array.isArray(content)) return [];
  return content.flatMap((part) => (typeof part?.text === "string" ? [part.text] : []));
}

function isPlainObject(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseJson(text: string | undefined, field: string, check: (value: unknown) => boolean, what: string): unknown {
  if (text === undefined || text === "") return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new LlmError("invalid_argument", `${field} is not valid JSON: ${(err as Error).message}`, {
      details: { field },
    });
  }
  if (!check(value)) throw new LlmError("invalid_argument", `${field} must be ${what}`, { details: { field } });
  return value;
}
