// Hugging Face pre-tokenizers: they cut a normalized span into the pieces BPE encodes one by one.
// ByteLevel, when present, must come last: it is run by the span encoder with a fast hand-written
// GPT-2 scanner; every other step is a function from one piece to its sub-pieces.
import { WHITE_SPACE_CLASS_BODY } from "./char-class.js";
import { describe, isObject, type Json, listAt, unsupported } from "./json-spec.js";
import { SPLIT_BEHAVIORS, type SplitBehavior, splitText } from "./split-behavior.js";
import { compilePattern, escapeRegExp } from "./split-regex.js";

/** One pre-tokenizer step; `first` is true for the span that starts the input (Metaspace `first`). */
export type PreTokenizeStep = (piece: string, first: boolean) => string[];

export interface ByteLevelSpec {
  /** ByteLevel's own GPT-2 regex (`use_regex`). */
  gpt2Split: boolean;
  /** `add_prefix_space`: a space is put before each piece that does not start with one. */
  addPrefixSpace: boolean;
}

export interface PreTokenizerSpec {
  steps: PreTokenizeStep[];
  /** Set when the pipeline ends with ByteLevel: pieces are then encoded as UTF-8 byte symbols. */
  byteLevel: ByteLevelSpec | undefined;
}

const WHITE_SPACE = new RegExp(`[${WHITE_SPACE_CLASS_BODY}]+`, "gu");
// `\w` as Unicode word characters (Oniguruma's), not JavaScript's ASCII-only `\w`.
const WORDS_OR_SYMBOLS = new RegExp(
  `[\\p{L}\\p{M}\\p{N}\\p{Pc}]+|[^\\p{L}\\p{M}\\p{N}\\p{Pc}${WHITE_SPACE_CLASS_BODY}]+`,
  "gu",
);
const PUNCTUATION_CLASS_BODY = "\\p{P}!-/:-@[-`{-~";
const PUNCTUATION = new RegExp(`[${PUNCTUATION_CLASS_BODY}]`, "gu");
// BertPreTokenizer in one pass: runs of neither white space nor punctuation, and each punctuation character.
const BERT_PIECES = new RegExp(
  `[^${WHITE_SPACE_CLASS_BODY}${PUNCTUATION_CLASS_BODY}]+|[${PUNCTUATION_CLASS_BODY}]`,
  "gu",
);

export function parsePreTokenizer(json: unknown, path = "pre_tokenizer"): PreTokenizerSpec {
  if (json === undefined || json === null) return { steps: [], byteLevel: undefined };
  if (!isObject(json)) throw unsupported(path, `pre-tokenizer ${describe(json)}`);
  const parts =
    json.type === "Sequence"
      ? listAt(json, "pretokenizers", path).map((part, i) => ({ part, path: `${path}.pretokenizers[${i}]` }))
      : [{ part: json as unknown, path }];
  const spec: PreTokenizerSpec = { steps: [], byteLevel: undefined };
  parts.forEach(({ part, path: partPath }, i) => {
    if (isObject(part) && part.type === "ByteLevel") {
      if (i !== parts.length - 1) throw unsupported(partPath, "ByteLevel is supported only as the last pre-tokenizer");
      spec.byteLevel = { gpt2Split: part.use_regex !== false, addPrefixSpace: part.add_prefix_space === true };
    } else {
      spec.steps.push(parseStep(part, partPath));
    }
  });
  return spec;
}

function parseStep(part: unknown, path: string): PreTokenizeStep {
  if (!isObject(part)) throw unsupported(path, `pre-tokenizer ${describe(part)}`);
  switch (part.type) {
    case "Split": {
      const pattern = compilePattern(part.pattern, `${path}.pattern`);
      const behavior = splitBehavior(part, path);
      const invert = part.invert === true;
      return (piece) => splitText(piece, pattern, behavior, invert);
    }
    case "Metaspace":
      return metaspace(part, path);
    case "Digits": {
      const digits = part.individual_digits === true ? /[0-9]/g : /[0-9]+/g;
      return (piece) => splitText(piece, digits, "Isolated", false);
    }
    case "Punctuation": {
      const behavior = splitBehavior(part, path, "Isolated");
      return (piece) => splitText(piece, PUNCTUATION, behavior, false);
    }
    case "Whitespace":
      return (piece) => splitText(piece, WORDS_OR_SYMBOLS, "Removed", true);
    case "WhitespaceSplit":
      return (piece) => splitText(piece, WHITE_SPACE, "Removed", false);
    case "BertPreTokenizer": // white space removed, then every punctuation character its own piece
      return (piece) => piece.match(BERT_PIECES) ?? [];
    default:
      throw unsupported(path, `pre-tokenizer ${describe(part)}`);
  }
}

function splitBehavior(part: Json, path: string, fallback?: SplitBehavior): SplitBehavior {
  const behavior = part.behavior ?? fallback;
  if (SPLIT_BEHAVIORS.includes(behavior as SplitBehavior)) return behavior as SplitBehavior;
  throw unsupported(`${path}.behavior`, `Split behavior ${JSON.stringify(part.behavior)}`);
}

/** Spaces become the replacement (`▁`), one is prepended per `prepend_scheme`, then pieces start at each `▁`. */
function metaspace(part: Json, path: string): PreTokenizeStep {
  const replacement = part.replacement ?? "▁";
  if (typeof replacement !== "string" || [...replacement].length !== 1) {
    throw unsupported(`${path}.replacement`, `expected one character, got ${JSON.stringify(replacement)}`);
  }
  // Older files say `add_prefix_space: true|false` instead of a scheme.
  const scheme = part.prepend_scheme ?? (part.add_prefix_space === false ? "never" : "always");
  if (scheme !== "always" && scheme !== "first" && scheme !== "never") {
    throw unsupported(`${path}.prepend_scheme`, `unknown scheme ${JSON.stringify(scheme)}`);
  }
  const split = part.split !== false;
  const marker = new RegExp(escapeRegExp(replacement), "gu");
  return (piece, first) => {
    let text = piece.replaceAll(" ", replacement);
    const prepend = scheme === "always" || (scheme === "first" && first);
    if (prepend && !text.startsWith(replacement)) text = replacement + text;
    return split ? splitText(text, marker, "MergedWithNext", false) : [text];
  };
}
