// Pre-tokenizes a span of normalized text (no added tokens in it) and encodes each pre-token.
import { gpt2PieceEnd } from "./gpt2-scanner.js";
import type { IdBuffer } from "./id-buffer.js";
import type { PieceEncoder } from "./piece-encoder.js";
import type { PreTokenizerSpec } from "./pre-tokenizers.js";

export class SpanEncoder {
  constructor(
    private readonly spec: PreTokenizerSpec,
    private readonly pieces: PieceEncoder,
  ) {}

  /** Appends the ids of `text[start..end)` to `out`; `first` when the span starts the input. */
  encode(text: string, start: number, end: number, first: boolean, out: IdBuffer): void {
    if (this.spec.steps.length === 0) {
      this.encodePiece(text, start, end, out);
      return;
    }
    let pieces = [text.slice(start, end)];
    for (const step of this.spec.steps) pieces = pieces.flatMap((piece, i) => step(piece, first && i === 0));
    for (const piece of pieces) this.encodePiece(piece, 0, piece.length, out);
  }

  /** The last step: ByteLevel (optional prefix space, optional GPT-2 split) or the piece as it is. */
  private encodePiece(text: string, start: number, end: number, out: IdBuffer): void {
    const byteLevel = this.spec.byteLevel;
    if (byteLevel === undefined) {
      if (end > start) this.pieces.encode(text, start, end, out);
      return;
    }
    if (byteLevel.addPrefixSpace && text.charCodeAt(start) !== 32) {
      text = ` ${text.slice(start, end)}`;
      start = 0;
      end = text.length;
    }
    if (!byteLevel.gpt2Split) {
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
