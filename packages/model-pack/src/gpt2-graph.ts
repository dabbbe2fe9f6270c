// The GPT-2 decoder as an ONNX graph in Hugging Face's export layout (the inputs and outputs transformers.js
// and optimum use). One graph serves prefill and decode: a past of length 0 is an empty cache.
import { BOOL, FLOAT, float, GraphBuilder, INT64, int, ints } from "./onnx-writer.js";
import { headDim } from "./presets.js";
import type { BlockWeights, Gpt2Weights, WeightTensor } from "./weights.js";

/** Added to the attention scores of keys a query must not see; exp() of it underflows to exactly 0. */
export const MASKED_SCORE = -1e9;
export const LAYER_NORM_EPSILON = 1e-5;

const PAST = "past_sequence_length";
const TOTAL = "past_sequence_length + sequence_length";
const INT64_MAX = 2n ** 63n - 1n;

export const pastKeyName = (layer: number) => `past_key_values.${layer}.key`;
export const pastValueName = (layer: number) => `past_key_values.${layer}.value`;
export const presentKeyName = (layer: number) => `present.${layer}.key`;
export const presentValueName = (layer: number) => `present.${layer}.value`;

/** Serializes the model for `weights` (IR 8, opset 17). */
export function encodeGpt2Model(weights: Gpt2Weights): Uint8Array {
  const { nLayer, nHead, nEmbd, vocabSize } = weights.shape;
  const hd = headDim(weights.shape);
  const g = new GraphBuilder();

  const inputIds = g.input("input_ids", INT64, ["batch_size", "sequence_length"]);
  const attentionMask = g.input("attention_mask", INT64, ["batch_size", TOTAL]);
  const positionIds = g.input("position_ids", INT64, ["batch_size", "sequence_length"]);
  const cacheDims = ["batch_size", nHead, PAST, hd];
  const past = Array.from({ length: nLayer }, (_, i) => ({
    key: g.input(pastKeyName(i), FLOAT, cacheDims),
    value: g.input(pastValueName(i), FLOAT, cacheDims),
  }));
  // A scalar, as transformers.js feeds it: 0 keeps every position, N > 0 the last N.
  const numLogitsToKeep = g.input("num_logits_to_keep", INT64, []);

  const wte = g.floatTensor(weights.wte.name, weights.wte.dims, weights.wte.data);
  const wpe = g.floatTensor(weights.wpe.name, weights.wpe.dims, weights.wpe.data);
  const maskBias = attentionBias(g, inputIds, attentionMask);

  let x = g.op("Add", [g.op("Gather", [wte, inputIds]), g.op("Gather", [wpe, positionIds])]);
  weights.blocks.forEach((block, layer) => {
    g.scope = `h.${layer}/`;
    x = transformerBlock(g, x, block, past[layer], maskBias, layer, { nHead, hd, nEmbd });
  });
  g.scope = "head/";
  const normed = layerNorm(g, x, weights.lnFGamma, weights.lnFBeta);
  // Keep only the last N positions BEFORE the vocabulary projection: that projection is most of a prefill's cost.
  const start = g.op("Neg", [g.op("Unsqueeze", [numLogitsToKeep, g.int64([0])])]);
  const kept = g.op("Slice", [normed, start, g.int64([INT64_MAX]), g.int64([1])]);
  // The LM head is tied to the token embedding.
  g.op("MatMul", [kept, g.op("Transpose", [wte], { perm: ints([1, 0]) })], {}, "logits");

  g.output("logits", FLOAT, ["batch_size", "num_logits", vocabSize]);
  for (let i = 0; i < nLayer; i++) {
    g.output(presentKeyName(i), FLOAT, ["batch_size", nHead, TOTAL, hd]);
    g.output(presentValueName(i), FLOAT, ["batch_size", nHead, TOTAL, hd]);
  }
  const doc = `GPT-2 decoder with seeded random weights: ${nLayer} layers, ${nHead} heads, ${nEmbd} wide`;
  return g.encode("gpt2_decoder", doc);
}

/**
 * [batch, 1, seq, past + seq] additive bias: 0 where query i (at absolute index past + i) may attend to
 * key j (j <= past + i, and attention_mask[b, j] = 1), MASKED_SCORE elsewhere.
 */
function attentionBias(g: GraphBuilder, inputIds: string, attentionMask: string): string {
  g.scope = "mask/";
  const one = g.int64([1], true);
  const seqLen = g.op("Gather", [g.op("Shape", [inputIds]), one]);
  const totalLen = g.op("Gather", [g.op("Shape", [attentionMask]), one]);
  const pastLen = g.op("Sub", [totalLen, seqLen]);
  const queryPos = g.op("Unsqueeze", [g.op("Range", [pastLen, totalLen, one]), g.int64([1])]);
  const keyPos = g.op("Range", [g.int64([0], true), totalLen, one]);
  const causal = g.op("LessOrEqual", [keyPos, queryPos]);
  const notPadding = g.op("Unsqueeze", [g.op("Cast", [attentionMask], { to: int(BOOL) }), g.int64([1, 2])]);
  const allowed = g.op("And", [causal, notPadding]);
  return g.op("Where", [allowed, g.floatScalar(0), g.floatScalar(MASKED_SCORE)]);
}

interface Dims {
  nHead: number;
  hd: number;
  nEmbd: number;
}

function transformerBlock(
  g: GraphBuilder,
  x: string,
  w: BlockWeights,
  past: { key: string; value: string },
  maskBias: string,
  layer: number,
  dims: Dims,
): string {
  const afterAttention = g.op("Add", [
    x,
    attention(g, layerNorm(g, x, w.ln1Gamma, w.ln1Beta), w, past, maskBias, layer, dims),
  ]);
  return g.op("Add", [afterAttention, mlp(g, layerNorm(g, afterAttention, w.ln2Gamma, w.ln2Beta), w)]);
}

function attention(
  g: GraphBuilder,
  h: string,
  w: BlockWeights,
  past: { key: string; value: string },
  maskBias: string,
  layer: number,
  { nHead, hd, nEmbd }: Dims,
): string {
  const qkv = linear(g, h, w.attnW, w.attnB);
  const [q, k, v] = g.opMulti("Split", [qkv], 3, { axis: int(2) });
  const splitHeads = g.int64([0, 0, nHead, hd]);
  // [batch, seq, embd] -> [batch, heads, seq, head_dim]
  const heads = (t: string) => g.op("Transpose", [g.op("Reshape", [t, splitHeads])], { perm: ints([0, 2, 1, 3]) });
  const key = g.op("Concat", [past.key, heads(k)], { axis: int(2) }, presentKeyName(layer));
  const value = g.op("Concat", [past.value, heads(v)], { axis: int(2) }, presentValueName(layer));
  const keyT = g.op("Transpose", [key], { perm: ints([0, 1, 3, 2]) });
  const scores = g.op("Mul", [g.op("MatMul", [heads(q), keyT]), g.floatScalar(1 / Math.sqrt(hd))]);
  const probs = g.op("Softmax", [g.op("Add", [scores, maskBias])], { axis: int(-1) });
  const context = g.op("Transpose", [g.op("MatMul", [probs, value])], { perm: ints([0, 2, 1, 3]) });
  const merged = g.op("Reshape", [context, g.int64([0, 0, nEmbd])]);
  return linear(g, merged, w.attnProjW, w.attnProjB);
}

function mlp(g: GraphBuilder, h: string, w: BlockWeights): string {
  return linear(g, geluTanh(g, linear(g, h, w.fcW, w.fcB)), w.fcProjW, w.fcProjB);
}

/** GPT-2's GELU: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
function geluTanh(g: GraphBuilder, x: string): string {
  const cube = g.op("Mul", [g.op("Mul", [x, x]), x]);
  const inner = g.op("Add", [x, g.op("Mul", [cube, g.floatScalar(0.044715)])]);
  const tanh = g.op("Tanh", [g.op("Mul", [inner, g.floatScalar(Math.sqrt(2 / Math.PI))])]);
  return g.op("Mul", [g.op("Mul", [x, g.floatScalar(0.5)]), g.op("Add", [tanh, g.floatScalar(1)])]);
}

function linear(g: GraphBuilder, x: string, weight: WeightTensor, bias: WeightTensor): string {
  const wName = g.floatTensor(weight.name, weight.dims, weight.data);
  const bName = g.floatTensor(bias.name, bias.dims, bias.data);
  return g.op("Add", [g.op("MatMul", [x, wName]), bName]);
}

function layerNorm(g: GraphBuilder, x: string, gamma: WeightTensor, beta: WeightTensor): string {
  const scale = g.floatTensor(gamma.name, gamma.dims, gamma.data);
  const bias = g.floatTensor(beta.name, beta.dims, beta.data);
  return g.op("LayerNormalization", [x, scale, bias], { axis: int(-1), epsilon: float(LAYER_NORM_EPSILON) });
}
