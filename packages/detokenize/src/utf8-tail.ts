// Where a byte stream may be cut without changing what a UTF-8 decoder makes of it.
// The bounds follow the WHATWG Encoding Standard's UTF-8 decoder (the one TextDecoder
// implements): a lead byte's second byte has a narrower range for E0, ED, F0 and F4,
// which excludes overlongs, surrogates and code points past U+10FFFF.

const CONTINUATION_MIN = 0x80;
const CONTINUATION_MAX = 0xbf;

interface LeadByte {
  /** Total bytes in the sequence this lead byte starts. */
  length: number;
  /** Allowed range of the byte right after the lead. */
  secondMin: number;
  secondMax: number;
}

function leadByte(byte: number): LeadByte | undefined {
  if (byte >= 0xc2 && byte <= 0xdf) return { length: 2, secondMin: 0x80, secondMax: 0xbf };
  if (byte === 0xe0) return { length: 3, secondMin: 0xa0, secondMax: 0xbf };
  if (byte === 0xed) return { length: 3, secondMin: 0x80, secondMax: 0x9f };
  if (byte >= 0xe1 && byte <= 0xef) return { length: 3, secondMin: 0x80, secondMax: 0xbf };
  if (byte === 0xf0) return { length: 4, secondMin: 0x90, secondMax: 0xbf };
  if (byte === 0xf4) return { length: 4, secondMin: 0x80, secondMax: 0x8f };
  if (byte >= 0xf1 && byte <= 0xf3) return { length: 4, secondMin: 0x80, secondMax: 0xbf };
  return undefined; // ASCII, a stray continuation byte, or a byte that never starts a sequence
}

function isContinuation(byte: number): boolean {
  return byte >= CONTINUATION_MIN && byte <= CONTINUATION_MAX;
}

/**
 * Length (0-3) of the trailing bytes that are a valid but unfinished UTF-8 sequence:
 * bytes that later input could still complete into a character. Everything before them
 * decodes the same now as it would with the rest of the stream attached, because a lead
 * byte is never a continuation byte, so the decoder always meets it in its initial state.
 * Bytes that are already invalid are not counted: they decode to U+FFFD whatever follows.
 */
export function incompleteTailLength(bytes: Uint8Array): number {
  const end = bytes.length;
  for (let start = end - 1; start >= 0 && start >= end - 3; start--) {
    if (isContinuation(bytes[start])) continue;
    const lead = leadByte(bytes[start]);
    const available = end - start;
    if (lead === undefined || available >= lead.length) return 0;
    if (available === 1) return 1;
    const second = bytes[start + 1];
    if (second < lead.secondMin || second > lead.secondMax) return 0;
    // Any third byte is already known to be a continuation byte (the loop skipped it).
    return available;
  }
  return 0;
}
