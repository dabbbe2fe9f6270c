import { describe, expect, it } from "vitest";
import { Utf8StreamDecoder } from "../src/utf8-stream.js";

const bytes = (...values: number[]) => Uint8Array.from(values);
const oneShot = (data: Uint8Array) => new TextDecoder("utf-8", { ignoreBOM: true }).decode(data);

/** Writes `data` one byte per call; returns what each call gave, then what end() gave. */
function byteByByte(data: Uint8Array): string[] {
  const decoder = new Utf8StreamDecoder();
  const out = Array.from(data, (byte) => decoder.write([bytes(byte)]));
  out.push(decoder.end());
  return out;
}

describe("Utf8StreamDecoder", () => {
  it("holds a split character back until its last byte arrives", () => {
    expect(byteByByte(bytes(0xf0, 0x9f, 0x91, 0x8d, 0x21))).toEqual(["", "", "", "👍", "!", ""]);
    expect(byteByByte(bytes(0xe2, 0x82, 0xac))).toEqual(["", "", "€", ""]);
  });

  it("emits U+FFFD at once for bytes no continuation can fix, where a one-shot decode puts it", () => {
    // E0 80: overlong; ED A0: a surrogate; F4 90: past U+10FFFF; C0, F5: never valid; 80: stray continuation.
    expect(byteByByte(bytes(0xe0, 0x80))).toEqual(["", "\uFFFD\uFFFD", ""]);
    expect(byteByByte(bytes(0xed, 0xa0, 0x41))).toEqual(["", "\uFFFD\uFFFD", "A", ""]);
    expect(byteByByte(bytes(0xf4, 0x90))).toEqual(["", "\uFFFD\uFFFD", ""]);
    expect(byteByByte(bytes(0xc0, 0xf5, 0x80))).toEqual(["\uFFFD", "\uFFFD", "\uFFFD", ""]);
    // An unfinished character followed by a new lead byte is one U+FFFD, then the new character.
    expect(byteByByte(bytes(0xe2, 0x82, 0xc3, 0xa9))).toEqual(["", "", "\uFFFD", "é", ""]);
  });

  it("turns an unfinished character into one U+FFFD at the end, as a one-shot decode does", () => {
    expect(byteByByte(bytes(0x41, 0xf0, 0x9f, 0x91))).toEqual(["A", "", "", "", "\uFFFD"]);
  });

  it("keeps a leading U+FEFF (model output is not a file with a byte-order mark)", () => {
    expect(byteByByte(bytes(0xef, 0xbb, 0xbf, 0x41)).join("")).toBe("\uFEFFA");
  });

  it("matches TextDecoder's stream mode byte for byte on every 4-byte sequence over the UTF-8 boundary values", () => {
    // Every range edge of the WHATWG UTF-8 decoder, so each lead/second-byte rule is crossed.
    const edges = [
      0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xe1, 0xed, 0xef, 0xf0, 0xf3, 0xf4, 0xf5,
    ];
    const mismatches: string[] = [];
    for (const a of edges)
      for (const b of edges)
        for (const c of edges)
          for (const d of edges) {
            const data = bytes(a, b, c, d);
            const ours = byteByByte(data);
            const streaming = new TextDecoder("utf-8", { ignoreBOM: true });
            const theirs = Array.from(data, (byte) => streaming.decode(bytes(byte), { stream: true }));
            theirs.push(streaming.decode());
            if (ours.join("\u0000") !== theirs.join("\u0000") || ours.join("") !== oneShot(data)) {
              mismatches.push(Buffer.from(data).toString("hex"));
            }
          }
    expect(mismatches).toEqual([]);
  });
});
