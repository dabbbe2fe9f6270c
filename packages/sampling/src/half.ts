// Logits in the model's 16-bit dtype (fp16 / bf16): half the bytes on the wire, widened to float32 exactly
// on arrival. Node 20 has no Float16Array, so fp16 goes through a 65,536-entry table (one load per value).
import { LlmError } from "@llm/errors";

export type LogitsDtype = "float32" | "float16" | "bfloat16";

let float16Table: Float32Array | undefined;

/** Every fp16 bit pattern's float32 value (exact: fp16 ⊂ float32). */
function float16Values(): Float32Array {
  if (float16Table) return float16Table;
  const table = new Float32Array(65536);
  for (let bits = 0; bits < 65536; bits++) {
    const sign = bits & 0x8000 ? -1 : 1;
    const exponent = (bits >> 10) & 0x1f;
    const fraction = bits & 0x3ff;
    if (exponent === 0) table[bits] = sign * fraction * 2 ** -24;
    else if (exponent === 31) table[bits] = fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
    else table[bits] = sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
  }
  float16Table = table;
  return table;
}

/** Widens 16-bit logits into `out` (same length). */
export function widenHalf(bits: Uint16Array, dtype: "float16" | "bfloat16", out: Float32Array): Float32Array {
  if (out.length !== bits.length) {
    throw new LlmError("invalid_argument", `${bits.length} ${dtype} values cannot fill ${out.length} float32 ones`);
  }
  if (dtype === "bfloat16") {
    const words = new Uint32Array(out.buffer, out.byteOffset, out.length);
    for (let i = 0; i < bits.length; i++) words[i] = bits[i] << 16;
    return out;
  }
  const table = float16Values();
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]];
  return out;
}

/** Bytes per value of a dtype. */
export function dtypeBytes(dtype: LogitsDtype): number {
  return dtype === "float32" ? 4 : 2;
}
