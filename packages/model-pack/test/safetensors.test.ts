// Reading trained weights: exact fp16 widening, and clear errors for files the builder cannot use.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { halfToFloat, PRESETS, readSafetensors, trainedWeights } from "../src/index.js";

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "model-pack-safetensors-"));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** A safetensors file: the header as JSON after its 8-byte length, then the raw bytes. */
async function file(name: string, header: object, body: Uint8Array): Promise<string> {
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  const path = join(scratch, name);
  await writeFile(path, Buffer.concat([length, json, body]));
  return path;
}

describe("safetensors", () => {
  test("fp16 values widen exactly: normals, subnormals, extremes, signs, infinities", () => {
    const cases: [number, number][] = [
      [0x0000, 0],
      [0x3c00, 1],
      [0xc000, -2],
      [0x3555, 0.333251953125],
      [0x7bff, 65504],
      [0x0400, 2 ** -14],
      [0x0001, 2 ** -24],
      [0x7c00, Number.POSITIVE_INFINITY],
      [0xfc00, Number.NEGATIVE_INFINITY],
    ];
    for (const [bits, value] of cases) expect(halfToFloat(bits), bits.toString(16)).toBe(value);
    expect(halfToFloat(0x7e00)).toBeNaN();
  });

  test("reads F16 and F32 tensors by name with their shapes", async () => {
    const body = Buffer.alloc(4 + 8);
    body.writeUInt16LE(0x3c00, 0);
    body.writeUInt16LE(0xc000, 2);
    body.writeFloatLE(0.5, 4);
    body.writeFloatLE(-3, 8);
    const path = await file(
      "ok.safetensors",
      {
        a: { dtype: "F16", shape: [2], data_offsets: [0, 4] },
        b: { dtype: "F32", shape: [1, 2], data_offsets: [4, 12] },
        __metadata__: { format: "pt" },
      },
      body,
    );
    const tensors = readSafetensors(path);
    expect([...tensors.keys()]).toEqual(["a", "b"]);
    expect(tensors.get("a")).toEqual({ dims: [2], data: Float32Array.of(1, -2) });
    expect(tensors.get("b")).toEqual({ dims: [1, 2], data: Float32Array.of(0.5, -3) });
  });

  test("names the tensor and the problem for an unknown dtype or a size that does not match the shape", async () => {
    const bf16 = await file(
      "bf16.safetensors",
      { w: { dtype: "BF16", shape: [1], data_offsets: [0, 2] } },
      new Uint8Array(2),
    );
    expect(() => readSafetensors(bf16)).toThrow(/tensor w has dtype BF16; only F16 and F32 are read/);
    const short = await file(
      "short.safetensors",
      { w: { dtype: "F16", shape: [3], data_offsets: [0, 4] } },
      new Uint8Array(4),
    );
    expect(() => readSafetensors(short)).toThrow(/tensor w is not 3/);
  });

  test("trained weights must have every tensor the preset's shape needs, at that shape", () => {
    const { shape } = PRESETS.demo;
    expect(() => trainedWeights(shape, new Map())).toThrow(/lack tensor transformer\.h\.0\.ln_1\.weight/);
    const wrong = new Map([["transformer.h.0.ln_1.weight", { dims: [3], data: new Float32Array(3) }]]);
    expect(() => trainedWeights(shape, wrong)).toThrow(
      /transformer\.h\.0\.ln_1\.weight is 3, the preset's shape needs 256/,
    );
  });
});
