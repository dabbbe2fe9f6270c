import { incompleteTailLength } from "./utf8-tail.js";

/**
 * Incremental UTF-8 decoding whose concatenated output always equals a one-shot
 * `TextDecoder` decode of all the bytes. It holds back only a tail that could still become
 * a valid character; bytes that are already invalid become U+FFFD at once, exactly where the
 * one-shot decode puts them. A leading U+FEFF is kept (the text is model output, not a file
 * with a byte-order mark), so the reference is `new TextDecoder("utf-8", { ignoreBOM: true })`.
 */
export class Utf8StreamDecoder {
  // Each call decodes a self-contained run of bytes, so no decoder state crosses calls.
  private readonly decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  private tail: Uint8Array = new Uint8Array(0);

  /** Decodes `chunks` appended to the held tail; returns only text that can no longer change. */
  write(chunks: readonly Uint8Array[]): string {
    const bytes = this.concatWithTail(chunks);
    const cut = bytes.length - incompleteTailLength(bytes);
    this.tail = bytes.slice(cut);
    return cut === 0 ? "" : this.decoder.decode(bytes.subarray(0, cut));
  }

  /** Ends the stream: an unfinished tail becomes U+FFFD, as a one-shot decode would make it. */
  end(): string {
    const text = this.decoder.decode(this.tail);
    this.tail = new Uint8Array(0);
    return text;
  }

  private concatWithTail(chunks: readonly Uint8Array[]): Uint8Array {
    let length = this.tail.length;
    for (const chunk of chunks) length += chunk.length;
    const bytes = new Uint8Array(length);
    bytes.set(this.tail, 0);
    let offset = this.tail.length;
    for (const chunk of chunks) {
      bytes.set(chunk, offset);
      offset += chunk.length;
    }
    return bytes;
  }
}
