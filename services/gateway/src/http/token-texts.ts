// The text of single token ids (for OpenAI's logprobs entries), asked of the tokenizer service and remembered.
import type { TokenizerService } from "@llm/proto";
import type { ServiceClient } from "@llm/rpc";

export class TokenTexts {
  /** Per model, id → text; bounded by the vocabulary size, and a model's ids never change meaning. */
  private readonly known = new Map<string, Map<number, Promise<string>>>();

  constructor(private readonly tokenizer: ServiceClient<typeof TokenizerService>) {}

  /**
   * Each id decoded alone, special tokens included. A token holding part of a UTF-8 character decodes to U+FFFD,
   * as in OpenAI's API (whose `bytes` field we fill from this text). Not tied to one request's signal: requests
   * share the remembered answers, so one client going away must not fail another's.
   */
  of(model: string, ids: readonly number[]): Promise<string[]> {
    let texts = this.known.get(model);
    if (!texts) {
      texts = new Map();
      this.known.set(model, texts);
    }
    const cache = texts;
    return Promise.all(
      ids.map((id) => {
        let text = cache.get(id);
        if (!text) {
          text = this.tokenizer.decode({ model, tokenIds: [id], skipSpecialTokens: false }).then((r) => r.text);
          text.catch(() => cache.delete(id)); // a failed ask (tokenizer down) is not remembered
          cache.set(id, text);
        }
        return text;
      }),
    );
  }
}
