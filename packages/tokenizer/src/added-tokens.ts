// Finds added tokens (`<|endoftext|>`, chat markers, Gemma's thousands of whitespace and `<unusedN>`
// tokens, ...) in text before pre-tokenization, leftmost and longest first as `tokenizers` does, with a
// character trie: most positions cost one failed lookup, however many tokens there are. Special tokens
// are only recognised when the caller allows them; otherwise they are ordinary text (like tiktoken's
// `encode_ordinary`), so user input cannot smuggle control tokens in.
import { classOf, LETTER, NUMBER, SPACE } from "./char-class.js";
import type { AddedToken } from "./tokenizer-json.js";

/** Receives the input as alternating plain-text spans and added-token ids. */
export interface SegmentSink {
  text(start: number, end: number): void;
  token(id: number): void;
}

interface TrieNode {
  next: Map<number, TrieNode>;
  /** The token that ends here, if one does. */
  token: AddedToken | undefined;
}

const UNDERSCORE = 95;

function newNode(): TrieNode {
  return { next: new Map(), token: undefined };
}

export class AddedTokenMatcher {
  private readonly root = newNode();
  private readonly empty: boolean;
  private readonly onlySpecial: boolean;

  constructor(tokens: readonly AddedToken[]) {
    this.empty = tokens.length === 0;
    this.onlySpecial = tokens.every((token) => token.special);
    for (const token of tokens) {
      let node = this.root;
      for (let i = 0; i < token.content.length; i++) {
        const code = token.content.charCodeAt(i);
        let child = node.next.get(code);
        if (child === undefined) {
          child = newNode();
          node.next.set(code, child);
        }
        node = child;
      }
      node.token ??= token; // the first of two tokens with the same content wins
    }
  }

  /** Splits `text` into spans and added tokens, reporting them in order to `sink`. */
  split(text: string, allowSpecial: boolean, sink: SegmentSink): void {
    if (this.empty || (this.onlySpecial && !allowSpecial)) {
      if (text.length > 0) sink.text(0, text.length);
      return;
    }
    let textStart = 0;
    for (let i = 0; i < text.length; i++) {
      if (!this.root.next.has(text.charCodeAt(i))) continue;
      const match = this.longestAt(text, i, allowSpecial);
      if (match === undefined) continue;
      let start = i;
      let end = i + match.content.length;
      if (match.lstrip) while (start > textStart && isSpaceAt(text, start - 1)) start--;
      if (match.rstrip) while (end < text.length && isSpaceAt(text, end)) end++;
      if (start > textStart) sink.text(textStart, start);
      sink.token(match.id);
      textStart = end;
      i = end - 1;
    }
    if (textStart < text.length) sink.text(textStart, text.length);
  }

  /** The longest allowed token starting at `start` (single-word tokens only between word boundaries). */
  private longestAt(text: string, start: number, allowSpecial: boolean): AddedToken | undefined {
    let best: AddedToken | undefined;
    let node: TrieNode | undefined = this.root;
    for (let i = start; i < text.length; i++) {
      node = node.next.get(text.charCodeAt(i));
      if (node === undefined) break;
      const token = node.token;
      if (token === undefined || (token.special && !allowSpecial)) continue;
      if (token.singleWord && (isWordAt(text, start - 1) || isWordAt(text, i + 1))) continue;
      best = token;
    }
    return best;
  }
}

function isSpaceAt(text: string, i: number): boolean {
  return classOf(text.charCodeAt(i)) === SPACE;
}

/** Whether a word character (`[\p{L}\p{N}_]`) is at `i` (false outside the text). */
function isWordAt(text: string, i: number): boolean {
  if (i < 0 || i >= text.length) return false;
  const codePoint = text.codePointAt(i) as number;
  const code = text.charCodeAt(i);
  // A low surrogate at `i` belongs to the pair that starts one unit before.
  const point = code >= 0xdc00 && code <= 0xdfff && i > 0 ? (text.codePointAt(i - 1) as number) : codePoint;
  const cls = classOf(point);
  return cls === LETTER || cls === NUMBER || point === UNDERSCORE;
}
