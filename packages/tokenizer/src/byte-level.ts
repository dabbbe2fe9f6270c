// GPT-2's reversible byte ↔ printable-character mapping (`bytes_to_unicode`): byte-level BPE
// vocabularies spell every token with these 256 characters, so whitespace and control bytes
// never appear raw inside a token string.

/** BYTE_TO_CHAR[b] is the vocabulary character that stands for byte b. */
export const BYTE_TO_CHAR: readonly string[] = buildByteToChar();

/** Maps a vocabulary character's code point back to its byte; -1 where the character is not one of the 256. */
const CHAR_TO_BYTE: Int16Array = buildCharToByte();

function buildByteToChar(): string[] {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const chars: string[] = new Array(256);
  let shifted = 0;
  for (let b = 0; b < 256; b++) {
    chars[b] = String.fromCharCode(printable(b) ? b : 256 + shifted++);
  }
  return chars;
}

function buildCharToByte(): Int16Array {
  const table = new Int16Array(512).fill(-1);
  BYTE_TO_CHAR.forEach((char, byte) => {
    table[char.charCodeAt(0)] = byte;
  });
  return table;
}

/** The bytes a byte-level token string stands for, or undefined when it uses a character outside the mapping. */
export function byteLevelToBytes(token: string): Uint8Array | undefined {
  const bytes = new Uint8Array(token.length);
  for (let i = 0; i < token.length; i++) {
    const code = token.charCodeAt(i);
    const byte = code < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[code] : -1;
    if (byte < 0) return undefined;
    bytes[i] = byte;
  }
  return bytes;
}
