// The bytes of one block value in the shared tier. Self-describing, so runners configured with different
// storage types still read each other's blocks:
//   magic "KV" | version u8 (1) | dtype u8 (1 = float32, 2 = float16) | count u32 LE | count values LE
import { toFloat16 } from "./float16.js";
import type { KvBlock } from "./store.js";

export const BLOCK_DTYPES = ["float32", "float16"] as const;
export type BlockDtype = (typeof BLOCK_DTYPES)[number];

const HEADER_BYTES = 8;
const VERSION = 1;
const DTYPE_CODES: Record<BlockDtype, number> = { float32: 1, float16: 2 };

/**
 * `dtype` is the tier's storage type for float32 blocks (float16 halves their bytes); a float16 block (an fp16
 * model's) is stored as it is: never widened.
 */
export function encodeBlock(values: KvBlock, dtype: BlockDtype): Buffer {
  const payload = values instanceof Uint16Array || dtype === "float32" ? values : toFloat16(values);
  const out = Buffer.allocUnsafe(HEADER_BYTES + payload.byteLength);
  out.write("KV", 0, "latin1");
  out.writeUInt8(VERSION, 2);
  out.writeUInt8(payload instanceof Uint16Array ? DTYPE_CODES.float16 : DTYPE_CODES.float32, 3);
  out.writeUInt32LE(values.length, 4);
  // Typed arrays are little-endian on every platform Node supports for ONNX Runtime (x64, arm64).
  out.set(new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength), HEADER_BYTES);
  return out;
}

/** The block's values in the dtype they were stored in; throws on bytes that are not a block of this format. */
export function decodeBlock(bytes: Buffer): KvBlock {
  if (bytes.length < HEADER_BYTES || bytes.toString("latin1", 0, 2) !== "KV" || bytes.readUInt8(2) !== VERSION) {
    throw new Error("not a version-1 KV block");
  }
  const code = bytes.readUInt8(3);
  const count = bytes.readUInt32LE(4);
  const width = code === DTYPE_CODES.float16 ? 2 : code === DTYPE_CODES.float32 ? 4 : 0;
  if (width === 0) throw new Error(`unknown block dtype code ${code}`);
  if (bytes.length !== HEADER_BYTES + count * width) {
    throw new Error(`block of ${count} values has ${bytes.length - HEADER_BYTES} payload bytes`);
  }
  // Copy into a fresh, aligned buffer: the reply's bytes may sit at any offset of a shared slab.
  const aligned = new Uint8Array(count * width);
  aligned.set(bytes.subarray(HEADER_BYTES));
  return width === 2 ? new Uint16Array(aligned.buffer) : new Float32Array(aligned.buffer);
}
