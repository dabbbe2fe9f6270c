import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeBlock, encodeBlock, fromFloat16, toFloat16 } from "../src/index.js";

const roundTrip = (values: number[]) => Array.from(fromFloat16(toFloat16(Float32Array.from(values))));

describe("float16", () => {
  it("keeps exactly representable values and the edges of the range", () => {
    const exact = [0, 1, -2, 0.5, 1024, 65_504, -65_504, 2 ** -14, 2 ** -24, -(2 ** -24), 1 + 2 ** -10];
    expect(roundTrip(exact)).toEqual(exact);
    expect(roundTrip([70_000, -1e9, Number.POSITIVE_INFINITY])).toEqual([
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      Number.POSITIVE_INFINITY,
    ]);
    expect(roundTrip([Number.NaN])[0]).toBeNaN();
    expect(roundTrip([2 ** -26])).toEqual([0]);
  });

  it("rounds to nearest, ties to even", () => {
    // Between 1 and 1 + 2^-10 the half-way point 1 + 2^-11 goes to the even neighbour (1); just above it, up.
    expect(roundTrip([1 + 2 ** -11, 1 + 2 ** -11 + 2 ** -20, 1 + 3 * 2 ** -11])).toEqual([
      1,
      1 + 2 ** -10,
      1 + 2 * 2 ** -10,
    ]);
  });

  it("is within half a unit in the last place of every normal value", () => {
    fc.assert(
      fc.property(fc.float({ min: Math.fround(-60_000), max: Math.fround(60_000), noNaN: true }), (value) => {
        const [back] = roundTrip([value]);
        const magnitude = Math.max(Math.abs(value), 2 ** -14);
        expect(Math.abs(back - value)).toBeLessThanOrEqual(magnitude * 2 ** -11 + 2 ** -25);
      }),
    );
  });
});

describe("block codec", () => {
  const values = Float32Array.from({ length: 300 }, (_, i) => Math.sin(i) * 3);

  it("float32 blocks come back bit for bit; float16 blocks in half the bytes within tolerance", () => {
    const wide = encodeBlock(values, "float32");
    const narrow = encodeBlock(values, "float16");
    expect(decodeBlock(wide)).toEqual(values);
    expect(narrow.length - 8).toBe((wide.length - 8) / 2);
    const back = fromFloat16(decodeBlock(narrow) as Uint16Array);
    for (let i = 0; i < values.length; i++) expect(Math.abs(back[i] - values[i])).toBeLessThanOrEqual(3 * 2 ** -11);
  });

  it("a float16 block (an fp16 model's) is stored as it is, even by a float32 tier, and comes back as float16", () => {
    const halves = toFloat16(values);
    const stored = encodeBlock(halves, "float32");
    expect(stored.length - 8).toBe(halves.byteLength);
    expect(decodeBlock(stored)).toEqual(halves);
  });

  it("decodes a block sitting at an odd offset of a larger buffer", () => {
    const slab = Buffer.concat([Buffer.from([7]), encodeBlock(values, "float32")]);
    expect(decodeBlock(slab.subarray(1))).toEqual(values);
  });

  it("rejects bytes that are not a block", () => {
    expect(() => decodeBlock(Buffer.from("hello world"))).toThrow(/not a version-1 KV block/);
    const truncated = encodeBlock(values, "float16").subarray(0, 100);
    expect(() => decodeBlock(truncated)).toThrow(/300 values has 92 payload bytes/);
    const unknown = encodeBlock(values, "float32");
    unknown.writeUInt8(9, 3);
    expect(() => decodeBlock(unknown)).toThrow(/unknown block dtype code 9/);
  });
});
