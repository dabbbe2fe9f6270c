// Reads a `.safetensors` file (an 8-byte little-endian header length, a JSON header, then raw little-endian
// tensors): the format the training script writes trained weights in. F16 values widen exactly to float32.
import { readFileSync } from "node:fs";

export interface StoredTensor {
  dims: number[];
  data: Float32Array;
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

const BYTES_PER_VALUE: Record<string, number> = { F16: 2, F32: 4 };

/** Every tensor in the file, by name, as float32. */
export function readSafetensors(path: string): Map<string, StoredTensor> {
  const file = readFileSync(path);
  const headerLength = Number(file.readBigUInt64LE(0));
  const header = JSON.parse(file.subarray(8, 8 + headerLength).toString("utf8")) as Record<string, HeaderEntry>;
  const body = 8 + headerLength;
  const tensors = new Map<string, StoredTensor>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const width = BYTES_PER_VALUE[entry.dtype];
    if (!width) throw new Error(`${path}: tensor ${name} has dtype ${entry.dtype}; only F16 and F32 are read`);
    const [start, end] = entry.data_offsets;
    const count = entry.shape.reduce((a, b) => a * b, 1);
    if (end - start !== count * width) throw new Error(`${path}: tensor ${name} is not ${entry.shape.join("x")}`);
    const data = new Float32Array(count);
    for (let i = 0; i < count; i++) {
      const at = body + start + i * width;
      data[i] = width === 2 ? halfToFloat(file.readUInt16LE(at)) : file.readFloatLE(at);
    }
    tensors.set(name, { dims: entry.shape, data });
  }
  return tensors;
}

/** IEEE 754 binary16 → number (exact: every half is a float32). */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24; // zero and subnormals
  if (exponent === 0x1f) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}
