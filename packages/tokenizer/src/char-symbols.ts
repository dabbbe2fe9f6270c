// The starting symbols of BPE on a vocabulary that is not byte-level (SentencePiece-style: Llama 2,
// Gemma): one symbol per character; a character missing from the vocabulary becomes its UTF-8
// bytes as `<0xNN>` tokens (byte_fallback) or the unknown token (consecutive ones fused if
// fuse_unk), as `tokenizers` starts its merge loop.

export interface CharSymbolOptions {
  byteFallback: boolean;
  unkId: number | undefined;
  fuseUnk: boolean;
  /** `continuing_subword_prefix`: put before every character but the first. */
  prefix: string;
  /** `end_of_word_suffix`: put after the last character. */
  suffix: string;
}

const utf8 = new TextEncoder();

export class CharSymbolizer {
  private readonly byteIds = new Int32Array(256).fill(-1);

  constructor(
    private readonly vocab: ReadonlyMap<string, number>,
    private readonly options: CharSymbolOptions,
  ) {
    for (let byte = 0; byte < 256; byte++) {
      const id = vocab.get(`<0x${byte.toString(16).toUpperCase().padStart(2, "0")}>`);
      if (id !== undefined) this.byteIds[byte] = id;
    }
  }

  /** Most symbols a piece of `length` UTF-16 units can start as (4 byte tokens per character). */
  static capacity(length: number): number {
    return length * 4;
  }

  /** Writes the symbols of `piece` into `symbols` and returns their count. */
  write(piece: string, symbols: Int32Array): number {
    const { prefix, suffix, byteFallback, unkId, fuseUnk } = this.options;
    let n = 0;
    let lastWasUnk = false;
    for (let i = 0; i < piece.length; ) {
      const width = (piece.codePointAt(i) ?? 0) > 0xffff ? 2 : 1;
      const char = piece.slice(i, i + width);
      let symbol = char;
      if (i > 0 && prefix !== "") symbol = prefix + symbol;
      i += width;
      if (i === piece.length && suffix !== "") symbol += suffix;
      const id = this.vocab.get(symbol);
      if (id !== undefined) {
        symbols[n++] = id;
        lastWasUnk = false;
      } else if (byteFallback && this.writeBytes(char, symbols, n)) {
        n += utf8.encode(char).length;
        lastWasUnk = false;
      } else if (unkId !== undefined && !(fuseUnk && lastWasUnk)) {
        symbols[n++] = unkId;
        lastWasUnk = true;
      }
    }
    return n;
  }

  /** The `<0xNN>` ids of `char`'s bytes at `symbols[at..]`; false when one of them is missing. */
  private writeBytes(char: string, symbols: Int32Array, at: number): boolean {
    const bytes = utf8.encode(char);
    for (const byte of bytes) if (this.byteIds[byte] < 0) return false;
    bytes.forEach((byte, k) => {
      symbols[at + k] = this.byteIds[byte];
    });
    return true;
  }
}
