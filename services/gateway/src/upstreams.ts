// The gateway's calls to its upstream services for one request: the prompt encoded by the tokenizer, and the
// detokenizer's decode stream, answered message by message.
import { LlmError } from "@llm/errors";
import {
  type DecodeStreamResponse,
  type DetokenizerService,
  type GenerateRequest,
  type TokenizerService,
  ToolCallSyntax,
} from "@llm/proto";
import type { CallOptions, ServiceClient } from "@llm/rpc";
import type { ModelInfo } from "./served-models.js";

export interface Upstreams {
  tokenizer: ServiceClient<typeof TokenizerService>;
  detokenizer: ServiceClient<typeof DetokenizerService>;
}

/** The request's decode stream, answered message by message. */
export interface DecodeSession {
  /** Settles once the detokenizer accepted the stream: bad stop sequences fail here, before the runner starts. */
  opened: Promise<DecodeStreamResponse>;
  /** Decodes `tokenId` into the text; `textIds` come back each decoded alone, in `tokenTexts`. */
  push(tokenId: number, textIds: number[]): Promise<DecodeStreamResponse>;
  /** Half-closes and returns the held-back rest. */
  flush(): Promise<DecodeStreamResponse>;
}

export function openDetokenizer(
  upstreams: Upstreams,
  model: ModelInfo,
  request: GenerateRequest,
  call: CallOptions,
): DecodeSession {
  const stream = upstreams.detokenizer.decodeStream(call);
  const responses = stream[Symbol.asyncIterator]();
  const next = async () => {
    const response = await responses.next();
    if (response.done) throw new LlmError("unavailable", "the detokenizer ended its stream early; retry the request");
    return response.value;
  };
  stream.send({ start: { model: model.id, stop: request.stop, skipSpecialTokens: true } });
  stream.send({ tokenIds: [] }); // answered at once, with no text
  return {
    opened: next(),
    push: (tokenId, textIds) => {
      stream.send({ tokenIds: [tokenId], tokenTextIds: textIds });
      return next();
    },
    flush: () => {
      stream.end();
      return next();
    },
  };
}

/** The prompt's token ids, and how the model's chat template writes tool calls (chat prompts). */
export interface EncodedPrompt {
  tokenIds: number[];
  toolSyntax: ToolCallSyntax;
}

export async function encodePrompt(
  { tokenizer }: Upstreams,
  model: ModelInfo,
  { prompt, addSpecialTokens }: GenerateRequest,
  call: CallOptions,
): Promise<EncodedPrompt> {
  const plain = (tokenIds: number[]) => ({ tokenIds, toolSyntax: ToolCallSyntax.UNSPECIFIED });
  if (prompt.case === "tokenIds") return plain(prompt.value.ids);
  if (prompt.case === "chat") {
    const rendered = await tokenizer.applyChatTemplate(
      {
        model: model.id,
        messages: prompt.value.messages,
        addGenerationPrompt: true,
        toolsJson: prompt.value.toolsJson,
      },
      call,
    );
    return { tokenIds: rendered.tokenIds, toolSyntax: rendered.toolCallSyntax };
  }
  // As Hugging Face encodes a prompt: special-token text is the control token (LLM_SPECIAL_TOKEN_TEXT=reject
  // refuses it at the tokenizer), and the model's BOS/EOS are added unless the request turns them off.
  const text = { model: model.id, text: prompt.value ?? "", allowSpecialTokens: true };
  return plain((await tokenizer.encode({ ...text, addSpecialTokens: addSpecialTokens ?? true }, call)).tokenIds);
}
