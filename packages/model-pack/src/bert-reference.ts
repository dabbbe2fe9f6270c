// An independent float64 forward pass of the BERT encoder, written from the math, over the same seeded
// weights as the graph. Tests compare the ONNX model's last_hidden_state against it.
import { BERT_LAYER_NORM_EPSILON, type BertLayerWeights, type BertNorm, type BertWeights } from "./bert-weights.js";
import { headDim } from "./presets.js";
import { addInPlace, affine, at, dot, layerNorm } from "./reference.js";

export interface EncoderReferenceInput {
  /** [batch][sequence] */
  inputIds: number[][];
  /** [batch][sequence]: 1 = real token, 0 = padding. */
  attentionMask: number[][];
  /** [batch][sequence]; absent = all segment 0. */
  tokenTypeIds?: number[][];
}

/** last_hidden_state as [batch][sequence] rows of nEmbd values (padding rows computed too, as the graph does). */
export function bertReferenceForward(weights: BertWeights, input: EncoderReferenceInput): Float64Array[][] {
  const { nEmbd } = weights.shape;
  return input.inputIds.map((ids, b) => {
    let rows = ids.map((id, pos) => {
      const row = new Float64Array(nEmbd);
      const type = input.tokenTypeIds?.[b][pos] ?? 0;
      for (let d = 0; d < nEmbd; d++) {
        row[d] =
          at(weights.wordEmbeddings, id, d) +
          at(weights.positionEmbeddings, pos, d) +
          at(weights.tokenTypeEmbeddings, type, d);
      }
      return norm(row, weights.embeddingNorm);
    });
    for (const layer of weights.layers) rows = encoderLayer(weights, layer, rows, input.attentionMask[b]);
    return rows;
  });
}

function encoderLayer(weights: BertWeights, w: BertLayerWeights, rows: Float64Array[], mask: number[]): Float64Array[] {
  const { nHead } = weights.shape;
  const hd = headDim(weights.shape);
  const q = rows.map((row) => affine(row, w.query.weight, w.query.bias));
  const k = rows.map((row) => affine(row, w.key.weight, w.key.bias));
  const v = rows.map((row) => affine(row, w.value.weight, w.value.bias));
  return rows.map((row, i) => {
    const context = new Float64Array(row.length);
    for (let h = 0; h < nHead; h++) {
      const slice = (t: Float64Array) => t.subarray(h * hd, (h + 1) * hd);
      const visible = k.map((_, j) => j).filter((j) => mask[j] === 1);
      const scores = visible.map((j) => dot(slice(q[i]), slice(k[j])) / Math.sqrt(hd));
      const top = Math.max(...scores);
      const exps = scores.map((s) => Math.exp(s - top));
      const total = exps.reduce((a, e) => a + e, 0);
      visible.forEach((j, n) => {
        for (let d = 0; d < hd; d++) context[h * hd + d] += (exps[n] / total) * v[j][h * hd + d];
      });
    }
    const attended = affine(context, w.attentionOut.weight, w.attentionOut.bias);
    addInPlace(attended, row);
    const h = norm(attended, w.attentionNorm);
    const inner = affine(h, w.intermediate.weight, w.intermediate.bias).map(geluErf);
    const out = affine(inner, w.output.weight, w.output.bias);
    addInPlace(out, h);
    return norm(out, w.outputNorm);
  });
}

function norm(row: Float64Array, w: BertNorm): Float64Array {
  return layerNorm(row, w.gamma, w.beta, BERT_LAYER_NORM_EPSILON);
}

function geluErf(x: number): number {
  return 0.5 * x * (1 + erf(x / Math.SQRT2));
}

/** erf by its Maclaurin series (|x| < 3) or continued fraction (beyond): float64-exact for a reference. */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 3) {
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 200 && Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
      term *= (-ax * ax) / n;
      sum += term / (2 * n + 1);
    }
    return Math.sign(x) * ((2 / Math.sqrt(Math.PI)) * sum);
  }
  // erfc(x) = exp(-x²)/sqrt(pi) · 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...)))), evaluated from the tail.
  let fraction = ax;
  for (let n = 60; n >= 1; n--) fraction = ax + n / 2 / fraction;
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / fraction;
  return Math.sign(x) * (1 - erfc);
}
