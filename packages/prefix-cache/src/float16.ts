// IEEE 754 half precision for the shared tier's optional compact storage (Node 20 has no Float16Array).
// Encoding rounds to nearest, ties to even; values beyond the half range become ±Infinity.
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function toHalfBits(value: number): number {
  f32[0] = value;
  const bits = u32[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0); // Infinity or NaN
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent <= 0) {
    // Subnormal half: shift the full 24-bit significand down, rounding what falls off.
    if (halfExponent < -10) return sign;
    const shift = 14 - halfExponent;
    const significand = mantissa | 0x800000;
    return sign | roundShifted(significand, shift);
  }
  // A carry out of the mantissa correctly bumps the exponent (up to Infinity).
  return sign | ((halfExponent << 10) + roundShifted(mantissa, 13));
}

function roundShifted(value: number, shift: number): number {
  const kept = value >>> shift;
  const rest = value & ((1 << shift) - 1);
  const halfway = 1 << (shift - 1);
  return rest > halfway || (rest === halfway && (kept & 1) === 1) ? kept + 1 : kept;
}

let decodeTable: Float32Array | undefined;

/** Every half value as float32, built on first use (256 KiB): decoding is one lookup per value. */
function halfToFloatTable(): Float32Array {
  if (decodeTable) return decodeTable;
  decodeTable = new Float32Array(0x10000);
  for (let bits = 0; bits < 0x10000; bits++) {
    const sign = bits & 0x8000 ? -1 : 1;
    const exponent = (bits >>> 10) & 0x1f;
    const mantissa = bits & 0x3ff;
    decodeTable[bits] =
      exponent === 0
        ? sign * mantissa * 2 ** -24
        : exponent === 0x1f
          ? mantissa === 0
            ? sign * Number.POSITIVE_INFINITY
            : Number.NaN
          : sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
  }
  return decodeTable;
}

export function toFloat16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = toHalfBits(values[i]);
  return out;
}

export function fromFloat16(halves: Uint16Array): Float32Array {
  const table = halfToFloatTable();
  const out = new Float32Array(halves.length);
  for (let i = 0; i < halves.length; i++) out[i] = table[halves[i]];
  return out;
}
