// Pre-tokenizes a span of plain text (no added tokens in it) and encodes each pre-token.
import { gpt2PieceEnd } from "./gpt2-scanner.js";
import type { IdBuffer } from "./id-buffer.js";
import type { PieceEncoder } from "./piece-encoder.js";
import type { PreTokenizerSpec } from "./tokenizer-json.js";

export class SpanEncoder {
  constructor(
    private readonly spec: PreTokenizerSpec,
    private readonly pieces: PieceEncoder,
  ) {}

  /** Appends the ids of `text[start..end)` to `out`. */
  encode(text: string, start: number, end: number, out: IdBuffer): void {
    if (this.spec.splits.length === 0) {
      this.encodeByteLevel(text, start, end, out);
      return;
    }
    for (const piece of splitIsolated(text.slice(start, end), this.spec.splits)) {
      this.encodeByteLevel(piece, 0, piece.length, out);
    }
  }

  /** The ByteLevel step: optional prefix space, optional GPT-2 split, then BPE per pre-token. */
  private encodeByteLevel(text: string, start: number, end: number, out: IdBuffer): void {
    if (this.spec.addPrefixSpace && text.charCodeAt(start) !== 32) {
      text = ` ${text.slice(start, end)}`;
      start = 0;
      end = text.length;
    }
    if (!this.spec.gpt2Split) {
      this.pieces.encode(text, start, end, out);
      return;
    }
    for (let i = start; i < end; ) {
      const pieceEnd = gpt2PieceEnd(text, i, end);
      this.pieces.encode(text, i, pieceEnd, out);
      i = pieceEnd;
    }
  }
}

/** `Split` with behavior Isolated, applied pattern after pattern: matches and the gaps between them are pieces. */
export function splitIsolated(text: string, patterns: readonly RegExp[]): string[] {
  let pieces = [text];
  for (const pattern of patterns) {
    pieces = pieces.flatMap((piece) => {
      const parts: string[] = [];
      let last = 0;
      for (const match of piece.matchAll(pattern)) {
        if (match[0].length === 0) continue;
        if (match.index > last) parts.push(piece.slice(last, match.index));
        parts.push(match[0]);
        last = match.index + match[0].length;
      }
      if (last < piece.length) parts.push(piece.slice(last));
      return parts;
    });
  }
  return pieces;
}
