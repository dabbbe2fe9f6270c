// The request body's text as the gRPC API would accept it: the same rule for both APIs. Over gRPC every
// string must be UTF-8 (packages/rpc names the field that is not); over HTTP a string can break it in two
// ways, raw bytes that are not UTF-8 and escapes of lone surrogates ("\ud800"), which no UTF-8 encodes. Both
// are refused naming the field, before anything reaches an upstream service.
import { isUtf8 } from "node:buffer";
import { LlmError } from "@llm/errors";
import { shown } from "../shown.js";

/**
 * The body's bytes as a string, each byte of an invalid UTF-8 sequence kept as a lone surrogate (U+DC80 +
 * byte, Python's "surrogateescape") rather than silently replaced, so the field holding it is found later.
 */
export function decodeUtf8Marking(bytes: Buffer): string {
  if (isUtf8(bytes)) return bytes.toString("utf8");
  let text = "";
  let valid = 0; // start of the current run of valid sequences
  for (let i = 0; i < bytes.length; ) {
    const length = sequenceLength(bytes, i);
    if (length > 0) {
      i += length;
      continue;
    }
    text += bytes.toString("utf8", valid, i) + String.fromCharCode(0xdc00 | bytes[i]);
    valid = ++i;
  }
  return text + bytes.toString("utf8", valid);
}

/** Throws INVALID_ARGUMENT naming the first key or string of `value` (parsed JSON) that is not valid text. */
export function checkJsonText(value: unknown): void {
  // Iterative: a deeply nested body must not overflow the stack.
  const pending: [string, unknown][] = [["", value]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [path, item] = next;
    if (typeof item === "string") {
      if (LONE_SURROGATE.test(item)) throw notUtf8Text(path || "body");
    } else if (Array.isArray(item)) {
      for (let i = item.length - 1; i >= 0; i--) pending.push([`${path}[${i}]`, item[i]]);
    } else if (typeof item === "object" && item !== null) {
      const entries = Object.entries(item);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i];
        const childPath = path ? `${path}.${key}` : key;
        if (LONE_SURROGATE.test(key)) throw notUtf8Text(`${path ? `${path}.` : ""}${shown(key)} (a key)`);
        pending.push([childPath, child]);
      }
    }
  }
}

/** A surrogate code point not part of a pair: with the u flag, paired surrogates read as one code point. */
const LONE_SURROGATE = /\p{Cs}/u;

export function notUtf8Text(field: string): LlmError {
  return new LlmError(
    "invalid_argument",
    `${field} is not valid UTF-8 text: it holds bytes that are not UTF-8 or an escaped lone surrogate ` +
      "(\\ud800-\\udfff outside a pair); send the text as UTF-8",
    { details: { field } },
  );
}

/** UTF-8 lead bytes (RFC 3629: no overlongs, surrogates or code points past U+10FFFF): [first, last, length, second byte's range]. */
const LEADS: readonly [number, number, number, number, number][] = [
  [0xc2, 0xdf, 2, 0x80, 0xbf],
  [0xe0, 0xe0, 3, 0xa0, 0xbf],
  [0xe1, 0xec, 3, 0x80, 0xbf],
  [0xed, 0xed, 3, 0x80, 0x9f],
  [0xee, 0xef, 3, 0x80, 0xbf],
  [0xf0, 0xf0, 4, 0x90, 0xbf],
  [0xf1, 0xf3, 4, 0x80, 0xbf],
  [0xf4, 0xf4, 4, 0x80, 0x8f],
];

/** The length of the valid UTF-8 sequence at `i`, else 0. */
function sequenceLength(bytes: Buffer, i: number): number {
  const lead = bytes[i];
  if (lead < 0x80) return 1;
  const [, , length, low, high] = LEADS.find(([first, last]) => lead >= first && lead <= last) ?? [0, 0, 0, 0, 0];
  if (length === 0 || i + length > bytes.length || bytes[i + 1] < low || bytes[i + 1] > high) return 0;
  for (let k = 2; k < length; k++) if ((bytes[i + k] & 0xc0) !== 0x80) return 0;
  return length;
}
