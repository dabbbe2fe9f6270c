// Test helpers: a real GPT-2 byte-level token source and real GPT-2 token ids (tiktoken's gpt2 encoding).

import { END_OF_TEXT_ID, gpt2VocabularyData } from "@llm/model-pack";
import { get_encoding } from "tiktoken";
import type { TokenBytesSource } from "../src/index.js";

/**
 * GPT-2's byte → printable-character table: bytes that are printable Latin-1 stand for
 * themselves, the other 68 are shifted to U+0100 and up, in byte order.
 */
function byteLevelCharToByte(): Map<string, number> {
  const printable = (byte: number) =>
    (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
  const table = new Map<string, number>();
  let shifted = 0;
  for (let byte = 0; byte < 256; byte++) {
    const codePoint = printable(byte) ? byte : 256 + shifted++;
    table.set(String.fromCodePoint(codePoint), byte);
  }
  return table;
}

function byteLevelDecode(token: string, charToByte: Map<string, number>): Uint8Array {
  return Uint8Array.from(token, (char) => {
    const byte = charToByte.get(char);
    if (byte === undefined)
      throw new Error(`GPT-2 token ${JSON.stringify(token)} has a character outside the byte table`);
    return byte;
  });
}

/** The GPT-2 vocabulary as raw token bytes, with `<|endoftext|>` as its one special token. */
export function gpt2TokenBytesSource(): TokenBytesSource & { idOfBytes(bytes: Uint8Array): number | undefined } {
  const { vocab } = gpt2VocabularyData();
  const charToByte = byteLevelCharToByte();
  const bytesById: Uint8Array[] = [];
  const idByLatin1 = new Map<string, number>();
  for (const [token, id] of Object.entries(vocab)) {
    const bytes = id === END_OF_TEXT_ID ? new TextEncoder().encode(token) : byteLevelDecode(token, charToByte);
    bytesById[id] = bytes;
    idByLatin1.set(Buffer.from(bytes).toString("latin1"), id);
  }
  return {
    vocabSize: bytesById.length,
    tokenBytes: (id) => bytesById[id],
    isSpecial: (id) => id === END_OF_TEXT_ID,
    idOfBytes: (bytes) => idByLatin1.get(Buffer.from(bytes).toString("latin1")),
  };
}

const encoding = get_encoding("gpt2");

/** Real GPT-2 token ids for `text` (ordinary text: `<|endoftext|>` is not special here). */
export function gpt2Encode(text: string): number[] {
  return Array.from(encoding.encode_ordinary(text));
}

/** What the detokenizer's whole output must equal (no stop sequences). */
export function referenceDecode(source: TokenBytesSource, ids: readonly number[], skipSpecialTokens = true): string {
  const kept = ids.filter((id) => !(skipSpecialTokens && source.isSpecial(id)));
  return new TextDecoder("utf-8", { ignoreBOM: true }).decode(Buffer.concat(kept.map((id) => source.tokenBytes(id))));
}
