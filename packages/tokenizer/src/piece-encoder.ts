// Turns one pre-token (a substring of the input) into token ids: its starting symbols (UTF-8 byte
// symbols for byte-level vocabularies, characters otherwise) → BPE merges (or WordPiece), with a bounded cache
// because natural text repeats the same words over and over.

import type { BpeMerger } from "./bpe.js";
import { BYTE_TO_CHAR } from "./byte-level.js";
import { CharSymbolizer } from "./char-symbols.js";
import type { IdBuffer } from "./id-buffer.js";
import type { WordPieceModel } from "./wordpiece.js";

/** Longer pre-tokens (base64 blobs, minified code) rarely repeat; caching them would only hold memory. */
const MAX_CACHED_LENGTH = 64;
const NO_IDS = new Uint32Array(0);

export interface PieceEncoderOptions {
  /** Byte-level vocabularies: the token id of each byte's symbol (index = byte value). */
  byteIds?: Int32Array;
  /** Other vocabularies (or byte-level ones with subword affixes): character symbols. */
  chars?: CharSymbolizer;
  /** With `chars`: spell the piece in the byte-level alphabet first. */
  byteLevelChars?: boolean;
  merger: BpeMerger;
  /** `ignore_merges` models: a pre-token that is itself in the vocabulary (keyed by its text) maps straight to it. */
  wholePieceIds?: ReadonlyMap<string, number>;
  /** WordPiece vocabularies: pieces are cut by this model instead of BPE merges. */
  wordPiece?: WordPieceModel;
  /** Most cached pre-tokens; the cache is emptied when it fills (cheap, and hot words come straight back). */
  cacheSize: number;
}

export class PieceEncoder {
  private readonly cache = new Map<string, number | Uint32Array>();
  private symbols = new Int32Array(256);

  constructor(private readonly options: PieceEncoderOptions) {}

  /** Appends the ids of `text[start..end)` to `out`. */
  encode(text: string, start: number, end: number, out: IdBuffer): void {
    const piece = text.slice(start, end);
    let ids = this.cache.get(piece);
    if (ids === undefined) {
      ids = this.compute(piece);
      if (piece.length <= MAX_CACHED_LENGTH) {
        if (this.cache.size >= this.options.cacheSize) this.cache.clear();
        this.cache.set(piece, ids);
      }
    }
    if (typeof ids === "number") out.push(ids);
    else out.pushAll(ids);
  }

  /** Ids of a piece, bypassing the cache (single id as a number, several as an array). */
  compute(piece: string): number | Uint32Array {
    if (this.options.wordPiece !== undefined) return this.options.wordPiece.ids(piece);
    const whole = this.options.wholePieceIds?.get(piece);
    if (whole !== undefined) return whole;
    const length = this.options.chars === undefined ? this.toByteSymbols(piece) : this.toCharSymbols(piece);
    const merged = this.options.merger.merge(this.symbols, length);
    if (merged === 0) return NO_IDS;
    return merged === 1 ? this.symbols[0] : Uint32Array.from(this.symbols.subarray(0, merged));
  }

  private toCharSymbols(piece: string): number {
    const chars = this.options.chars as CharSymbolizer;
    let symbolText = piece;
    if (this.options.byteLevelChars) {
      symbolText = "";
      for (const byte of Buffer.from(piece, "utf8")) symbolText += BYTE_TO_CHAR[byte];
    }
    const capacity = CharSymbolizer.capacity(symbolText.length);
    if (this.symbols.length < capacity) this.symbols = new Int32Array(capacity);
    return chars.write(symbolText, this.symbols);
  }

  /** Writes the byte symbols of the piece's UTF-8 encoding into `this.symbols`; returns their count. */
  private toByteSymbols(piece: string): number {
    if (this.symbols.length < piece.length * 3) this.symbols = new Int32Array(piece.length * 3);
    const symbols = this.symbols;
    const byteIds = this.options.byteIds as Int32Array;
    let n = 0;
    for (let i = 0; i < piece.length; i++) {
      let code = piece.charCodeAt(i);
      if (code < 0x80) {
        symbols[n++] = byteIds[code];
      } else if (code < 0x800) {
        symbols[n++] = byteIds[0xc0 | (code >> 6)];
        symbols[n++] = byteIds[0x80 | (code & 0x3f)];
      } else if (code >= 0xd800 && code <= 0xdbff) {
        code = ((code - 0xd800) << 10) + (piece.charCodeAt(++i) - 0xdc00) + 0x10000;
        symbols[n++] = byteIds[0xf0 | (code >> 18)];
        symbols[n++] = byteIds[0x80 | ((code >> 12) & 0x3f)];
        symbols[n++] = byteIds[0x80 | ((code >> 6) & 0x3f)];
        symbols[n++] = byteIds[0x80 | (code & 0x3f)];
      } else {
        symbols[n++] = byteIds[0xe0 | (code >> 12)];
        symbols[n++] = byteIds[0x80 | ((code >> 6) & 0x3f)];
        symbols[n++] = byteIds[0x80 | (code & 0x3f)];
      }
    }
    return n;
  }
}
