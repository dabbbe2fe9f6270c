// Reads a Hugging Face `tokenizer.json` of the byte-level BPE family into a plain description,
// rejecting every part this library does not implement with an error that names it.
import { LlmError } from "@llm/errors";
import { compileSplitLiteral, compileSplitPattern } from "./split-regex.js";

export interface AddedToken {
  id: number;
  content: string;
  special: boolean;
  /** Swallow the whitespace on the token's left / right (as `tokenizers` does). */
  lstrip: boolean;
  rstrip: boolean;
  /** Only match where the token is not glued to a word character on either side. */
  singleWord: boolean;
}

export interface PreTokenizerSpec {
  /** `Split` regexes applied in order before the byte-level step (Llama-3/Qwen style); empty for GPT-2. */
  splits: RegExp[];
  /** ByteLevel's own GPT-2 regex (`use_regex`). */
  gpt2Split: boolean;
  /** ByteLevel's `add_prefix_space`: a leading space is added to each piece that lacks one. */
  addPrefixSpace: boolean;
}

export interface TokenizerSpec {
  /** Byte-level token string → id. */
  vocab: Map<string, number>;
  /** Merge pairs in rank order. */
  merges: [string, string][];
  /** `ignore_merges`: a pre-token found whole in the vocabulary is not merged. */
  ignoreMerges: boolean;
  addedTokens: AddedToken[];
  /** Unicode normalization applied to the input first (NFC for Qwen-style files). */
  normalization: "NFC" | undefined;
  preTokenizer: PreTokenizerSpec;
}

type Json = Record<string, unknown>;

function unsupported(what: string): LlmError {
  return new LlmError("failed_precondition", `unsupported tokenizer.json: ${what} (only byte-level BPE is supported)`);
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describe(part: unknown): string {
  return isObject(part) && typeof part.type === "string" ? part.type : JSON.stringify(part);
}

export function parseTokenizerJson(json: unknown): TokenizerSpec {
  if (!isObject(json) || !isObject(json.model)) throw unsupported("no `model` object");
  assertByteLevelDecoder(json.decoder);
  return {
    ...parseModel(json.model),
    addedTokens: parseAddedTokens(json.added_tokens),
    normalization: parseNormalizer(json.normalizer),
    preTokenizer: parsePreTokenizer(json.pre_tokenizer),
  };
}

function parseModel(model: Json): Pick<TokenizerSpec, "vocab" | "merges" | "ignoreMerges"> {
  if (model.type !== undefined && model.type !== "BPE") throw unsupported(`model type ${describe(model)}`);
  if (model.dropout !== undefined && model.dropout !== null && model.dropout !== 0) {
    throw unsupported(`BPE dropout ${model.dropout}`);
  }
  if (model.byte_fallback === true) throw unsupported("BPE byte_fallback (a SentencePiece-style model)");
  for (const affix of ["continuing_subword_prefix", "end_of_word_suffix"] as const) {
    const value = model[affix];
    if (value !== undefined && value !== null && value !== "")
      throw unsupported(`BPE ${affix} ${JSON.stringify(value)}`);
  }
  if (!isObject(model.vocab)) throw unsupported("model.vocab is not an object");
  if (!Array.isArray(model.merges)) throw unsupported("model.merges is not an array");
  const vocab = new Map<string, number>();
  for (const [token, id] of Object.entries(model.vocab)) {
    if (!Number.isInteger(id) || (id as number) < 0) throw unsupported(`vocab id ${JSON.stringify(id)} of ${token}`);
    vocab.set(token, id as number);
  }
  return { vocab, merges: model.merges.map(parseMerge), ignoreMerges: model.ignore_merges === true };
}

/** A merge is written "left right" (older files) or ["left", "right"] (newer files). */
function parseMerge(merge: unknown, rank: number): [string, string] {
  if (typeof merge === "string") {
    const space = merge.indexOf(" "); // byte-level tokens spell a space as "Ġ", so the first space separates
    if (space > 0) return [merge.slice(0, space), merge.slice(space + 1)];
  } else if (Array.isArray(merge) && merge.length === 2 && merge.every((part) => typeof part === "string")) {
    return [merge[0], merge[1]];
  }
  throw unsupported(`merge #${rank} ${JSON.stringify(merge)} is neither "a b" nor ["a", "b"]`);
}

function parseAddedTokens(list: unknown): AddedToken[] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw unsupported("added_tokens is not an array");
  return list.map((token) => {
    if (!isObject(token) || !Number.isInteger(token.id) || typeof token.content !== "string" || token.content === "") {
      throw unsupported(`added token ${JSON.stringify(token)}`);
    }
    return {
      id: token.id as number,
      content: token.content,
      special: token.special === true,
      lstrip: token.lstrip === true,
      rstrip: token.rstrip === true,
      singleWord: token.single_word === true,
    };
  });
}

function parseNormalizer(normalizer: unknown): TokenizerSpec["normalization"] {
  if (normalizer === undefined || normalizer === null) return undefined;
  if (isObject(normalizer) && normalizer.type === "NFC") return "NFC";
  throw unsupported(`normalizer ${describe(normalizer)}`);
}

/** Accepts ByteLevel alone, or a Sequence of Isolated Splits ending with ByteLevel. */
function parsePreTokenizer(preTokenizer: unknown): PreTokenizerSpec {
  if (!isObject(preTokenizer)) throw unsupported(`pre_tokenizer ${describe(preTokenizer)}`);
  const steps = preTokenizer.type === "Sequence" ? preTokenizer.pretokenizers : [preTokenizer];
  if (!Array.isArray(steps) || steps.length === 0) throw unsupported("empty pre_tokenizer Sequence");
  const byteLevel = steps[steps.length - 1];
  if (!isObject(byteLevel) || byteLevel.type !== "ByteLevel") {
    throw unsupported(`pre_tokenizer ${describe(byteLevel)} where ByteLevel was expected last`);
  }
  return {
    splits: steps.slice(0, -1).map(parseSplit),
    gpt2Split: byteLevel.use_regex !== false,
    addPrefixSpace: byteLevel.add_prefix_space === true,
  };
}

function parseSplit(split: unknown): RegExp {
  if (!isObject(split) || split.type !== "Split") throw unsupported(`pre_tokenizer ${describe(split)} in a Sequence`);
  if (split.behavior !== "Isolated") throw unsupported(`Split behavior ${JSON.stringify(split.behavior)}`);
  if (split.invert === true) throw unsupported("inverted Split");
  const pattern = split.pattern;
  if (isObject(pattern) && typeof pattern.Regex === "string") return compileSplitPattern(pattern.Regex);
  if (isObject(pattern) && typeof pattern.String === "string") return compileSplitLiteral(pattern.String);
  throw unsupported(`Split pattern ${JSON.stringify(pattern)}`);
}

function assertByteLevelDecoder(decoder: unknown): void {
  if (decoder === undefined || decoder === null || (isObject(decoder) && decoder.type === "ByteLevel")) return;
  throw unsupported(`decoder ${describe(decoder)}`);
}
