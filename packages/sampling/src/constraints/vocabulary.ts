import { loadXGrammar, type TokenizerInfo } from "./xgrammar.js";

/**
 * A tokenizer's vocabulary as the grammar engine needs it: each id's bytes in GPT-2's byte-level spelling
 * (so any byte sequence is representable), "" for special tokens that are never text.
 */
export interface GrammarVocabulary {
  /** Identifies the vocabulary (e.g. a hash of tokenizer.json): compiled grammars are cached per (id, constraint). */
  id: string;
  /** Byte-level spelling of each token id, in id order. */
  tokens: readonly string[];
  /** Ids that end a sequence: the grammar allows them only where it may end. */
  stopTokenIds: readonly number[];
  /** Width of the model's logits; may exceed tokens.length (padded embeddings). */
  vocabSize: number;
}

export async function tokenizerInfoOf(vocabulary: GrammarVocabulary): Promise<TokenizerInfo> {
  const xgrammar = await loadXGrammar();
  return xgrammar.TokenizerInfo.createTokenizerInfo([...vocabulary.tokens], "byte_level", false, vocabulary.vocabSize, [
    ...vocabulary.stopTokenIds,
  ]);
}
