// Unicode character classes used by byte-level pre-tokenizers, looked up per code point.
// `\s` here is Unicode White_Space, as in Hugging Face `tokenizers` (Oniguruma) and tiktoken (Rust
// regex); JavaScript's own `\s` differs (it adds U+FEFF and lacks U+0085), so it is never used.

export const LETTER = 1;
export const NUMBER = 2;
export const SPACE = 3;
export const OTHER = 4;

/** Unicode White_Space, written as the body of a regex character class. */
export const WHITE_SPACE_CLASS_BODY = "\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";

const isLetter = /^\p{L}$/u;
const isNumber = /^\p{N}$/u;
const isWhiteSpace = new RegExp(`^[${WHITE_SPACE_CLASS_BODY}]$`, "u");

// Filled lazily: 0 means "not classified yet". Shared by every tokenizer in the process.
const classes = new Uint8Array(0x110000);

function computeClass(codePoint: number): number {
  const char = String.fromCodePoint(codePoint);
  if (isLetter.test(char)) return LETTER;
  if (isNumber.test(char)) return NUMBER;
  if (isWhiteSpace.test(char)) return SPACE;
  return OTHER;
}

for (let cp = 0; cp < 128; cp++) classes[cp] = computeClass(cp);

/** The class of a code point (LETTER, NUMBER, SPACE or OTHER). */
export function classOf(codePoint: number): number {
  const cached = classes[codePoint];
  if (cached !== 0) return cached;
  const computed = computeClass(codePoint);
  classes[codePoint] = computed;
  return computed;
}
