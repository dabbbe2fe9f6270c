import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { blockKeys } from "../src/index.js";

const scope = { modelId: "tiny", cacheSalt: "" };
const tokens = (n: number, offset = 0) => Array.from({ length: n }, (_, i) => (i * 7919 + offset) % 50257);

describe("blockKeys", () => {
  it("encodes the first block exactly as documented", () => {
    const ids = tokens(16);
    const u32 = (n: number) => {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(n);
      return b;
    };
    const expected = createHash("sha256")
      .update(Buffer.alloc(32))
      .update(Buffer.concat([u32(4), Buffer.from("tiny"), u32(4), Buffer.from("salt")]))
      .update(Buffer.concat([u32(16), ...ids.map(u32)]))
      .digest("hex");
    expect(blockKeys(ids, { modelId: "tiny", cacheSalt: "salt" })).toEqual([expected]);
  });

  it("keys full blocks only", () => {
    expect(blockKeys(tokens(15), scope)).toHaveLength(0);
    expect(blockKeys(tokens(47), scope)).toHaveLength(2);
    expect(blockKeys(tokens(48), scope)).toHaveLength(3);
  });

  it("chains: a change in block i changes keys from i on and none before", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 63 }), (position) => {
        const base = tokens(64);
        const changed = [...base];
        changed[position] = (changed[position] + 1) % 50257;
        const a = blockKeys(base, scope);
        const b = blockKeys(changed, scope);
        const block = Math.floor(position / 16);
        for (let i = 0; i < 4; i++) expect(a[i] === b[i]).toBe(i < block);
      }),
    );
  });

  it("isolates models and tenants", () => {
    const ids = tokens(32);
    const plain = blockKeys(ids, scope);
    expect(blockKeys(ids, { modelId: "other" })[0]).not.toBe(plain[0]);
    expect(blockKeys(ids, { modelId: "tiny", cacheSalt: "tenant-a" })[0]).not.toBe(plain[0]);
    expect(blockKeys(ids, { modelId: "tiny" })).toEqual(plain);
  });
});
