// Finds added tokens (`<|endoftext|>`, chat markers, ...) in text before pre-tokenization, leftmost
// and longest first as `tokenizers` does. Special tokens are only recognised when the caller allows
// them; otherwise they are ordinary text (like tiktoken's `encode_ordinary`), so user input cannot
// smuggle control tokens in.
import { WHITE_SPACE_CLASS_BODY } from "./char-class.js";
import { escapeRegExp } from "./split-regex.js";
import type { AddedToken } from "./tokenizer-json.js";

/** Receives the input as alternating plain-text spans and added-token ids. */
export interface SegmentSink {
  text(start: number, end: number): void;
  token(id: number): void;
}

interface TokenPattern {
  regex: RegExp;
  /** Token of capture group i + 1 (each alternative captures its token's content). */
  tokens: AddedToken[];
}

export class AddedTokenMatcher {
  private readonly all: TokenPattern | undefined;
  private readonly nonSpecial: TokenPattern | undefined;

  constructor(tokens: readonly AddedToken[]) {
    this.all = buildPattern(tokens);
    this.nonSpecial = buildPattern(tokens.filter((token) => !token.special));
  }

  /** Splits `text` into spans and added tokens, reporting them in order to `sink`. */
  split(text: string, allowSpecial: boolean, sink: SegmentSink): void {
    const pattern = allowSpecial ? this.all : this.nonSpecial;
    if (pattern === undefined) {
      if (text.length > 0) sink.text(0, text.length);
      return;
    }
    const { regex, tokens } = pattern;
    let textStart = 0;
    regex.lastIndex = 0;
    for (let match = regex.exec(text); match !== null; match = regex.exec(text)) {
      if (match.index > textStart) sink.text(textStart, match.index);
      sink.token(tokens[match.findIndex((group, i) => i > 0 && group !== undefined) - 1].id);
      textStart = match.index + match[0].length;
    }
    if (textStart < text.length) sink.text(textStart, text.length);
  }
}

function buildPattern(tokens: readonly AddedToken[]): TokenPattern | undefined {
  if (tokens.length === 0) return undefined;
  const sorted = [...tokens].sort((a, b) => b.content.length - a.content.length); // alternation is ordered
  const space = `[${WHITE_SPACE_CLASS_BODY}]*`;
  const alternatives = sorted.map((token) => {
    let alternative = `(${escapeRegExp(token.content)})`;
    if (token.singleWord) alternative = `(?<![\\p{L}\\p{N}_])${alternative}(?![\\p{L}\\p{N}_])`;
    return `${token.lstrip ? space : ""}${alternative}${token.rstrip ? space : ""}`;
  });
  return { regex: new RegExp(alternatives.join("|"), "gu"), tokens: sorted };
}
