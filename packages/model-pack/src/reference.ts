// An independent float64 forward pass of the GPT-2 decoder, written from the math rather than from the
// ONNX graph, over the same seeded weight arrays. Tests compare the ONNX model against it.
import { LAYER_NORM_EPSILON } from "./gpt2-graph.js";
import { headDim } from "./presets.js";
import type { BlockWeights, Gpt2Weights, WeightTensor } from "./weights.js";

/** One layer's cache, laid out like the graph's: [batch, heads, length, head_dim], flattened. */
export interface ReferenceLayerCache {
  key: Float64Array;
  value: Float64Array;
}

export interface ReferenceCache {
  /** Positions held (the graph's past_sequence_length). */
  length: number;
  layers: ReferenceLayerCache[];
}

export interface ReferenceInput {
  /** [batch][sequence] */
  inputIds: number[][];
  /** [batch][past + sequence]: 1 = real token, 0 = padding. */
  attentionMask: number[][];
  /** [batch][sequence] */
  positionIds: number[][];
  past?: ReferenceCache;
  /** Logits for the last N positions only; 0 (the default) = every position, like the graph's input. */
  numLogitsToKeep?: number;
}

export interface ReferenceOutput {
  /** [batch, kept, vocab], flattened. */
  logits: Float64Array;
  dims: [number, number, number];
  present: ReferenceCache;
}

/**
 * Logits (and the updated cache) for a batch. A query at a padding position sees no key at all; its
 * outputs are meaningless (zeros here, something else in the graph) and never reach a real position.
 */
export function referenceForward(weights: Gpt2Weights, input: ReferenceInput): ReferenceOutput {
  const { nLayer, nHead, nEmbd, vocabSize } = weights.shape;
  const hd = headDim(weights.shape);
  const batch = input.inputIds.length;
  const seq = input.inputIds[0].length;
  const pastLen = input.past?.length ?? 0;
  const total = pastLen + seq;
  if (input.attentionMask.some((row) => row.length !== total)) {
    throw new Error(`attention_mask rows must have past + sequence = ${total} entries`);
  }
  const kept = input.numLogitsToKeep ? Math.min(input.numLogitsToKeep, seq) : seq;
  const logits = new Float64Array(batch * kept * vocabSize);
  const layers = Array.from({ length: nLayer }, () => ({
    key: new Float64Array(batch * nHead * total * hd),
    value: new Float64Array(batch * nHead * total * hd),
  }));

  for (let b = 0; b < batch; b++) {
    // Residual stream, one row per position of this sequence.
    const x = input.inputIds[b].map((token, i) => {
      const row = new Float64Array(nEmbd);
      const pos = input.positionIds[b][i];
      for (let d = 0; d < nEmbd; d++) row[d] = at(weights.wte, token, d) + at(weights.wpe, pos, d);
      return row;
    });
    const mayAttend = (query: number, key: number) => key <= pastLen + query && input.attentionMask[b][key] === 1;
    weights.blocks.forEach((block, l) => {
      const cache = cacheView(layers[l], input.past?.layers[l], { b, nHead, hd, total, pastLen });
      const attended = attention(block, x, cache, mayAttend, { nHead, hd, nEmbd, pastLen });
      x.forEach((row, i) => {
        addInPlace(row, attended[i]);
      });
      for (const row of x) addInPlace(row, mlp(block, row));
    });
    for (let k = 0; k < kept; k++) {
      const h = layerNorm(x[seq - kept + k], weights.lnFGamma, weights.lnFBeta);
      const out = logits.subarray((b * kept + k) * vocabSize, (b * kept + k + 1) * vocabSize);
      for (let v = 0; v < vocabSize; v++) {
        let sum = 0;
        for (let d = 0; d < nEmbd; d++) sum += h[d] * at(weights.wte, v, d);
        out[v] = sum;
      }
    }
  }
  return { logits, dims: [batch, kept, vocabSize], present: { length: total, layers } };
}

interface CacheView {
  /** The key (or value) vector of `head` at absolute position `pos`, for this sequence. */
  key(head: number, pos: number): Float64Array;
  value(head: number, pos: number): Float64Array;
}

/** Views of one sequence's rows in the new cache, with the past copied in. */
function cacheView(
  present: ReferenceLayerCache,
  past: ReferenceLayerCache | undefined,
  { b, nHead, hd, total, pastLen }: { b: number; nHead: number; hd: number; total: number; pastLen: number },
): CacheView {
  const offset = (len: number, head: number, pos: number) => ((b * nHead + head) * len + pos) * hd;
  for (let head = 0; head < nHead && past; head++) {
    for (let pos = 0; pos < pastLen; pos++) {
      const from = offset(pastLen, head, pos);
      present.key.set(past.key.subarray(from, from + hd), offset(total, head, pos));
      present.value.set(past.value.subarray(from, from + hd), offset(total, head, pos));
    }
  }
  return {
    key: (head, pos) => present.key.subarray(offset(total, head, pos), offset(total, head, pos) + hd),
    value: (head, pos) => present.value.subarray(offset(total, head, pos), offset(total, head, pos) + hd),
  };
}

/** Causal self-attention for every position of one sequence; writes the new keys and values into `cache`. */
function attention(
  w: BlockWeights,
  x: Float64Array[],
  cache: CacheView,
  mayAttend: (query: number, key: number) => boolean,
  { nHead, hd, nEmbd, pastLen }: { nHead: number; hd: number; nEmbd: number; pastLen: number },
): Float64Array[] {
  const queries = x.map((row, i) => {
    const qkv = affine(layerNorm(row, w.ln1Gamma, w.ln1Beta), w.attnW, w.attnB);
    for (let head = 0; head < nHead; head++) {
      cache.key(head, pastLen + i).set(qkv.subarray(nEmbd + head * hd, nEmbd + (head + 1) * hd));
      cache.value(head, pastLen + i).set(qkv.subarray(2 * nEmbd + head * hd, 2 * nEmbd + (head + 1) * hd));
    }
    return qkv.subarray(0, nEmbd);
  });
  return queries.map((q, i) => {
    const context = new Float64Array(nEmbd);
    const visible = Array.from({ length: pastLen + x.length }, (_, j) => j).filter((j) => mayAttend(i, j));
    for (let head = 0; head < nHead && visible.length > 0; head++) {
      const qh = q.subarray(head * hd, (head + 1) * hd);
      const scores = visible.map((j) => dot(qh, cache.key(head, j)) / Math.sqrt(hd));
      const max = Math.max(...scores);
      const exps = scores.map((s) => Math.exp(s - max));
      const norm = exps.reduce((a, e) => a + e, 0);
      visible.forEach((j, k) => {
        const v = cache.value(head, j);
        for (let d = 0; d < hd; d++) context[head * hd + d] += (exps[k] / norm) * v[d];
      });
    }
    return affine(context, w.attnProjW, w.attnProjB);
  });
}

function mlp(w: BlockWeights, row: Float64Array): Float64Array {
  const hidden = affine(layerNorm(row, w.ln2Gamma, w.ln2Beta), w.fcW, w.fcB);
  for (let k = 0; k < hidden.length; k++) hidden[k] = geluTanh(hidden[k]);
  return affine(hidden, w.fcProjW, w.fcProjB);
}

function geluTanh(v: number): number {
  return 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
}

export function layerNorm(
  row: Float64Array,
  gamma: WeightTensor,
  beta: WeightTensor,
  epsilon = LAYER_NORM_EPSILON,
): Float64Array {
  const mean = row.reduce((a, v) => a + v, 0) / row.length;
  const variance = row.reduce((a, v) => a + (v - mean) ** 2, 0) / row.length;
  const scale = 1 / Math.sqrt(variance + epsilon);
  return row.map((v, d) => (v - mean) * scale * gamma.data[d] + beta.data[d]);
}

/** x · W + bias, with W stored [in, out] row-major (GPT-2's Conv1D layout). */
export function affine(x: Float64Array, weight: WeightTensor, bias: WeightTensor): Float64Array {
  const [inDim, outDim] = weight.dims;
  const out = Float64Array.from(bias.data);
  for (let i = 0; i < inDim; i++) {
    const xi = x[i];
    const rowStart = i * outDim;
    for (let o = 0; o < outDim; o++) out[o] += xi * weight.data[rowStart + o];
  }
  return out;
}

export function at(table: WeightTensor, row: number, col: number): number {
  return table.data[row * table.dims[1] + col];
}

export function dot(a: Float64Array, b: Float64Array): number {
  let sum = 0;
  for (let d = 0; d < a.length; d++) sum += a[d] * b[d];
  return sum;
}

export function addInPlace(target: Float64Array, delta: Float64Array): void {
  for (let d = 0; d < target.length; d++) target[d] += delta[d];
}
