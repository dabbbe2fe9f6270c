// What decoding does to the text after the tokens' bytes are joined: the decoder's strip of the
// first characters (Llama 2's leading space) and `clean_up_tokenization_spaces` (" ." → "." and
// friends, as transformers does). Both come as a one-shot function and as a stream whose
// concatenated output equals the one-shot result however the text is cut.

export interface DecodeRules {
  /** Up to `count` leading `char`s are removed from the start of the text. */
  stripStart?: { char: string; count: number };
  /** Apply transformers' `clean_up_tokenization` (tokenizer_config.json `clean_up_tokenization_spaces`). */
  cleanUpTokenizationSpaces: boolean;
}

const CLEAN_UPS: readonly [RegExp, string][] = [
  [/ \./g, "."],
  [/ \?/g, "?"],
  [/ !/g, "!"],
  [/ ,/g, ","],
  [/ ' /g, "'"],
  [/ n't/g, "n't"],
  [/ 'm/g, "'m"],
  [/ 's/g, "'s"],
  [/ 've/g, "'ve"],
  [/ 're/g, "'re"],
];
/** Every character of every clean-up pattern: no match can span a cut right after any other character. */
const CLEAN_UP_CHARS = new Set(" .?!,'ntmsvre");

/** transformers' `clean_up_tokenization`, the same replacements in the same order. */
export function cleanUpTokenizationSpaces(text: string): string {
  return CLEAN_UPS.reduce((out, [pattern, replacement]) => out.replace(pattern, replacement), text);
}

export function applyDecodeRules(text: string, rules: DecodeRules): string {
  const stream = new DecodedTextStream(rules);
  return stream.write(text) + stream.end();
}

/** The decode rules over text that arrives in pieces. */
export class DecodedTextStream {
  private stripLeft: number;
  /** Text not yet cleaned up: it ends in characters a clean-up match could still continue. */
  private pending = "";

  constructor(private readonly rules: DecodeRules) {
    this.stripLeft = rules.stripStart?.count ?? 0;
  }

  /** The text that can no longer change, given `text` arrived after everything before it. */
  write(text: string): string {
    let out = text;
    const strip = this.rules.stripStart;
    while (this.stripLeft > 0 && out.length > 0) {
      if (out[0] === strip?.char) {
        out = out.slice(1);
        this.stripLeft--;
      } else {
        this.stripLeft = 0;
      }
    }
    if (!this.rules.cleanUpTokenizationSpaces) return out;
    const all = this.pending + out;
    let cut = all.length;
    while (cut > 0 && CLEAN_UP_CHARS.has(all[cut - 1])) cut--;
    this.pending = all.slice(cut);
    return cleanUpTokenizationSpaces(all.slice(0, cut));
  }

  /** The end of the text: everything held back. */
  end(): string {
    const out = cleanUpTokenizationSpaces(this.pending);
    this.pending = "";
    return out;
  }
}
