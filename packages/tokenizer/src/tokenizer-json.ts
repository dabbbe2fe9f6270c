// Reads a Hugging Face `tokenizer.json` (BPE: byte-level like GPT-2/Llama 3/Qwen, or SentencePiece-style
// like Llama 2/Gemma; WordPiece like BERT) into a plain description, refusing every part this library does not implement
// with an error that names its JSON path.
import { type DecoderSpec, parseDecoder } from "./decoders.js";
import { describe, isObject, type Json, unsupported } from "./json-spec.js";
import { type Normalize, parseNormalizer } from "./normalizers.js";
import { parsePostProcessor, type SpecialTokensAround } from "./post-processor.js";
import { type PreTokenizerSpec, parsePreTokenizer } from "./pre-tokenizers.js";

export interface AddedToken {
  id: number;
  content: string;
  special: boolean;
  /** Swallow the whitespace on the token's left / right (as `tokenizers` does). */
  lstrip: boolean;
  rstrip: boolean;
  /** Only match where the token is not glued to a word character on either side. */
  singleWord: boolean;
  /** Matched in the normalized text (after the normalizer) rather than in the raw input. */
  normalized: boolean;
}

export interface TokenizerSpec {
  /** Token string (as the vocabulary spells it) → id. */
  vocab: Map<string, number>;
  /** Merge pairs in rank order. */
  merges: [string, string][];
  /** `ignore_merges`: a pre-token found whole in the vocabulary is not merged. */
  ignoreMerges: boolean;
  /** Characters missing from the vocabulary become `<0xNN>` byte tokens. */
  byteFallback: boolean;
  unkToken: string | undefined;
  fuseUnk: boolean;
  continuingSubwordPrefix: string;
  endOfWordSuffix: string;
  /** Set for WordPiece models (no merges; see wordpiece.ts). */
  wordPiece: { maxInputCharsPerWord: number } | undefined;
  addedTokens: AddedToken[];
  normalize: Normalize | undefined;
  preTokenizer: PreTokenizerSpec;
  decoder: DecoderSpec;
  /** Ids put around a text when special tokens are added (the post-processor). */
  specialTokensAround: SpecialTokensAround;
}

const KNOWN_KEYS = new Set([
  "version",
  "truncation",
  "padding",
  "added_tokens",
  "normalizer",
  "pre_tokenizer",
  "model",
  "post_processor",
  "decoder",
]);

export function parseTokenizerJson(json: unknown): TokenizerSpec {
  if (!isObject(json) || !isObject(json.model)) throw unsupported("model", "no `model` object");
  for (const key of Object.keys(json)) if (!KNOWN_KEYS.has(key)) throw unsupported(key, "unknown top-level key");
  const preTokenizer = parsePreTokenizer(json.pre_tokenizer);
  const decoder = parseDecoder(json.decoder, preTokenizer.byteLevel !== undefined);
  if (preTokenizer.byteLevel !== undefined && !decoder.byteLevel) {
    throw unsupported(
      "decoder",
      `decoder ${describe(json.decoder)} after a ByteLevel pre-tokenizer (expected ByteLevel)`,
    );
  }
  return {
    ...parseModel(json.model),
    addedTokens: parseAddedTokens(json.added_tokens),
    normalize: parseNormalizer(json.normalizer),
    preTokenizer,
    decoder,
    specialTokensAround: parsePostProcessor(json.post_processor),
  };
}

type ModelSpec = Omit<TokenizerSpec, "addedTokens" | "normalize" | "preTokenizer" | "decoder" | "specialTokensAround">;

function parseModel(model: Json): ModelSpec {
  if (model.type === "WordPiece") return parseWordPiece(model);
  if (model.type !== undefined && model.type !== "BPE") throw unsupported("model.type", `model ${describe(model)}`);
  if (model.dropout !== undefined && model.dropout !== null && model.dropout !== 0) {
    throw unsupported("model.dropout", `BPE dropout ${model.dropout}`);
  }
  if (!Array.isArray(model.merges)) throw unsupported("model.merges", "not an array");
  const vocab = parseVocab(model);
  const unkToken = unknownToken(model, vocab);
  return {
    vocab,
    merges: model.merges.map(parseMerge),
    ignoreMerges: model.ignore_merges === true,
    byteFallback: model.byte_fallback === true,
    unkToken,
    fuseUnk: model.fuse_unk === true,
    continuingSubwordPrefix: optionalString(model, "continuing_subword_prefix") ?? "",
    endOfWordSuffix: optionalString(model, "end_of_word_suffix") ?? "",
    wordPiece: undefined,
  };
}

function parseWordPiece(model: Json): ModelSpec {
  const vocab = parseVocab(model);
  const unkToken = unknownToken(model, vocab);
  if (unkToken === undefined) throw unsupported("model.unk_token", "WordPiece needs an unknown token");
  const maxChars = model.max_input_chars_per_word ?? 100; // `tokenizers`' default
  if (!Number.isInteger(maxChars) || (maxChars as number) < 1) {
    throw unsupported("model.max_input_chars_per_word", JSON.stringify(maxChars));
  }
  return {
    vocab,
    merges: [],
    ignoreMerges: false,
    byteFallback: false,
    unkToken,
    fuseUnk: false,
    continuingSubwordPrefix: optionalString(model, "continuing_subword_prefix") ?? "##",
    endOfWordSuffix: "",
    wordPiece: { maxInputCharsPerWord: maxChars as number },
  };
}

function parseVocab(model: Json): Map<string, number> {
  if (!isObject(model.vocab)) throw unsupported("model.vocab", "not an object");
  const vocab = new Map<string, number>();
  for (const [token, id] of Object.entries(model.vocab)) {
    if (!Number.isInteger(id) || (id as number) < 0) {
      throw unsupported("model.vocab", `id ${JSON.stringify(id)} of ${JSON.stringify(token)}`);
    }
    vocab.set(token, id as number);
  }
  return vocab;
}

function unknownToken(model: Json, vocab: ReadonlyMap<string, number>): string | undefined {
  const unkToken = optionalString(model, "unk_token");
  if (unkToken !== undefined && !vocab.has(unkToken)) {
    throw unsupported("model.unk_token", `${JSON.stringify(unkToken)} is not in the vocabulary`);
  }
  return unkToken;
}

function optionalString(model: Json, key: string): string | undefined {
  const value = model[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw unsupported(`model.${key}`, `expected a string, got ${JSON.stringify(value)}`);
  return value;
}

/** A merge is written "left right" (older files) or ["left", "right"] (newer files). */
function parseMerge(merge: unknown, rank: number): [string, string] {
  if (typeof merge === "string") {
    const space = merge.indexOf(" "); // vocabularies spell a space as "Ġ" or "▁", so the first space separates
    if (space > 0) return [merge.slice(0, space), merge.slice(space + 1)];
  } else if (Array.isArray(merge) && merge.length === 2 && merge.every((part) => typeof part === "string")) {
    return [merge[0], merge[1]];
  }
  throw unsupported(`model.merges[${rank}]`, `merge #${rank} ${JSON.stringify(merge)} is neither "a b" nor ["a", "b"]`);
}

function parseAddedTokens(list: unknown): AddedToken[] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw unsupported("added_tokens", "not an array");
  return list.map((token, i) => {
    if (!isObject(token) || !Number.isInteger(token.id) || typeof token.content !== "string" || token.content === "") {
      throw unsupported(`added_tokens[${i}]`, `added token ${JSON.stringify(token)}`);
    }
    const special = token.special === true;
    return {
      id: token.id as number,
      content: token.content,
      special,
      lstrip: token.lstrip === true,
      rstrip: token.rstrip === true,
      singleWord: token.single_word === true,
      normalized: token.normalized === undefined ? !special : token.normalized === true, // `tokenizers`' default
    };
  });
}
