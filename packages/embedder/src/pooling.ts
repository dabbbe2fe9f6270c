// Pooling token vectors into one per input, as sentence-transformers' Pooling module does over the real
// (unpadded) tokens of a right-padded batch, then optional L2 normalization and Matryoshka truncation.

export type PoolingMode = "mean" | "cls" | "max" | "lasttoken";
export const POOLING_MODES: readonly PoolingMode[] = ["mean", "cls", "max", "lasttoken"];

/**
 * The pooled vector of row `row` of `hidden` ([batch, width, dim], flattened), whose first `length` positions
 * are real tokens.
 */
export function poolRow(
  hidden: Float32Array,
  width: number,
  dim: number,
  row: number,
  length: number,
  mode: PoolingMode,
): Float32Array {
  const at = (pos: number) => (row * width + pos) * dim;
  switch (mode) {
    case "cls":
      return hidden.slice(at(0), at(0) + dim);
    case "lasttoken":
      return hidden.slice(at(length - 1), at(length - 1) + dim);
    case "mean": {
      // Summed in float64 so the mean does not depend on the order or count of padding positions.
      const sum = new Float64Array(dim);
      for (let pos = 0; pos < length; pos++) for (let d = 0, base = at(pos); d < dim; d++) sum[d] += hidden[base + d];
      return Float32Array.from(sum, (v) => v / length);
    }
    case "max": {
      const out = hidden.slice(at(0), at(0) + dim);
      for (let pos = 1; pos < length; pos++) {
        for (let d = 0, base = at(pos); d < dim; d++) if (hidden[base + d] > out[d]) out[d] = hidden[base + d];
      }
      return out;
    }
  }
}

/** Scales `vector` to unit L2 norm in place (torch's F.normalize: a zero vector stays zero). */
export function normalizeInPlace(vector: Float32Array): Float32Array {
  let sum = 0;
  for (const v of vector) sum += v * v;
  const scale = 1 / Math.max(Math.sqrt(sum), 1e-12);
  for (let i = 0; i < vector.length; i++) vector[i] *= scale;
  return vector;
}

/** The first `dimensions` values (Matryoshka truncation), re-normalized when the model's vectors are. */
export function truncated(vector: Float32Array, dimensions: number, normalize: boolean): Float32Array {
  if (dimensions >= vector.length) return vector;
  const kept = vector.slice(0, dimensions);
  return normalize ? normalizeInPlace(kept) : kept;
}
