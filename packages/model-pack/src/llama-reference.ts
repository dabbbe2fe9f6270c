// An independent float64 forward pass of the Llama decoder, written from the math (Hugging Face's
// LlamaForCausalLM) rather than from the ONNX graph, over the same weight arrays: one sequence, every position.
// `half` models the fp16 file: weights, keys, values and logits rounded to float16, everything else float64.
import { fromFloat16, toFloat16 } from "@llm/prefix-cache";
import type { LlamaWeights } from "./llama-weights.js";
import { RMS_NORM_EPSILON, ropeInverseFrequencies } from "./llama-weights.js";
import { headDim } from "./presets.js";
import type { WeightTensor } from "./weights.js";

export interface LlamaReferenceOutput {
  /** [positions, vocab], flattened. */
  logits: Float64Array;
  vocabSize: number;
}

export function llamaReferenceForward(
  weights: LlamaWeights,
  tokenIds: readonly number[],
  { half = false } = {},
): LlamaReferenceOutput {
  const { shape, llama } = weights;
  const hd = headDim(shape, llama);
  const d = shape.nEmbd;
  const group = shape.nHead / llama.nKvHead;
  const round = (values: Float64Array | Float32Array) =>
    half ? Float64Array.from(fromFloat16(toFloat16(Float32Array.from(values)))) : Float64Array.from(values);
  const w = (t: WeightTensor) => round(t.data);
  const inverse = ropeInverseFrequencies(hd, llama);
  const embed = w(weights.embed);
  let x: Float64Array[] = tokenIds.map((token) => embed.slice(token * d, (token + 1) * d));
  for (const layer of weights.layers) {
    const [wq, wk, wv, wo] = [w(layer.q), w(layer.k), w(layer.v), w(layer.o)];
    const normed = x.map((row) => rmsNorm(row, w(layer.inputNorm)));
    const queries = normed.map((row, pos) => rope(matVec(row, wq, d), shape.nHead, hd, pos, inverse));
    const keys = normed.map((row, pos) => round(rope(matVec(row, wk, d), llama.nKvHead, hd, pos, inverse)));
    const values = normed.map((row) => round(matVec(row, wv, d)));
    x = x.map((row, i) => {
      const context = new Float64Array(shape.nHead * hd);
      for (let head = 0; head < shape.nHead; head++) {
        const kvHead = Math.floor(head / group);
        const q = queries[i].subarray(head * hd, (head + 1) * hd);
        const scores = Array.from(
          { length: i + 1 },
          (_, j) => dot(q, keys[j].subarray(kvHead * hd, (kvHead + 1) * hd)) / Math.sqrt(hd),
        );
        const max = Math.max(...scores);
        const exps = scores.map((s) => Math.exp(s - max));
        const sum = exps.reduce((a, b) => a + b, 0);
        exps.forEach((e, j) => {
          const v = values[j].subarray(kvHead * hd, (kvHead + 1) * hd);
          for (let c = 0; c < hd; c++) context[head * hd + c] += (e / sum) * v[c];
        });
      }
      return add(row, matVec(context, wo, shape.nHead * hd));
    });
    const [gate, up, down] = [w(layer.gate), w(layer.up), w(layer.down)];
    x = x.map((row) => {
      const h = rmsNorm(row, w(layer.postAttentionNorm));
      const g = matVec(h, gate, d);
      const u = matVec(h, up, d);
      const hidden = g.map((value, k) => (value / (1 + Math.exp(-value))) * u[k]);
      return add(row, matVec(hidden, down, llama.intermediate));
    });
  }
  const head = w(weights.head);
  const vocab = shape.vocabSize;
  const logits = new Float64Array(x.length * vocab);
  x.forEach((row, i) => {
    const h = rmsNorm(row, w(weights.norm));
    for (let v = 0; v < vocab; v++) logits[i * vocab + v] = dot(h, head.subarray(v * d, (v + 1) * d));
  });
  return { logits: half ? round(logits) : logits, vocabSize: vocab };
}

/** Rotates each head's pairs (c, c + hd/2) by position x frequency c (rotate_half's convention). */
function rope(x: Float64Array, heads: number, hd: number, pos: number, inverse: Float64Array): Float64Array {
  const out = new Float64Array(x.length);
  for (let h = 0; h < heads; h++) {
    for (let c = 0; c < hd / 2; c++) {
      // float32 angle, as both Hugging Face and the graph compute position x inv_freq.
      const angle = Math.fround(pos * Math.fround(inverse[c]));
      const [a, b] = [x[h * hd + c], x[h * hd + c + hd / 2]];
      out[h * hd + c] = a * Math.cos(angle) - b * Math.sin(angle);
      out[h * hd + c + hd / 2] = b * Math.cos(angle) + a * Math.sin(angle);
    }
  }
  return out;
}

function rmsNorm(row: Float64Array, gain: Float64Array): Float64Array {
  const meanSquare = row.reduce((a, v) => a + v * v, 0) / row.length;
  const scale = 1 / Math.sqrt(meanSquare + RMS_NORM_EPSILON);
  return row.map((v, i) => v * scale * gain[i]);
}

/** x · W with W [inDim, out] row-major. */
function matVec(x: Float64Array, weight: Float64Array, inDim: number): Float64Array {
  const outDim = weight.length / inDim;
  const out = new Float64Array(outDim);
  for (let i = 0; i < inDim; i++) {
    const xi = x[i];
    for (let o = 0; o < outDim; o++) out[o] += xi * weight[i * outDim + o];
  }
  return out;
}

function dot(a: Float64Array, b: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}

function add(a: Float64Array, b: Float64Array): Float64Array {
  return a.map((v, i) => v + b[i]);
}
