// gRPC handlers of llm.v1.TokenizerService over a catalog of byte-level BPE tokenizers.
import type { TokenizerService } from "@llm/proto";
import type { ServiceImpl } from "@llm/rpc";
import type { TokenizerCatalog } from "@llm/tokenizer";

export function tokenizerService(catalog: TokenizerCatalog): ServiceImpl<typeof TokenizerService> {
  return {
    async encode({ model, text, allowSpecialTokens }) {
      const tokenizer = await catalog.get(model);
      return { tokenIds: Array.from(tokenizer.encode(text, { allowSpecial: allowSpecialTokens })) };
    },

    async decode({ model, tokenIds, skipSpecialTokens }) {
      const tokenizer = await catalog.get(model);
      return { text: tokenizer.decode(tokenIds, { skipSpecialTokens }) };
    },

    async countTokens({ model, text }) {
      const tokenizer = await catalog.get(model);
      return { count: tokenizer.count(text) };
    },

    async applyChatTemplate({ model, messages, addGenerationPrompt, chatTemplate }) {
      const tokenizer = await catalog.get(model);
      const text = tokenizer.applyChatTemplate(messages, { addGenerationPrompt, template: chatTemplate });
      // The template writes special tokens (bos/eos, role markers) on purpose: they must encode as such.
      return { text, tokenIds: Array.from(tokenizer.encode(text, { allowSpecial: true })) };
    },
  };
}
