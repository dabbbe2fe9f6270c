// The GPT-2 decoder as an ONNX graph in Hugging Face's export layout (the inputs and outputs transformers.js
// and optimum use). One graph serves prefill and decode: a past of length 0 is an empty cache.
// The `gqa` and `append` layouts swap the attention for one over a fixed-capacity cache (see `KvLayout`);
// everything else, weights included, is the same graph.
import { BOOL, FLOAT, float, GraphBuilder, INT32, INT64, int, ints, MS_DOMAIN } from "./onnx-writer.js";
import { headDim, type KvLayout } from "./presets.js";
import type { BlockWeights, Gpt2Weights, WeightTensor } from "./weights.js";

/** Added to the attention scores of keys a query must not see; exp() of it underflows to exactly 0. */
export const MASKED_SCORE = -1e9;
export const LAYER_NORM_EPSILON = 1e-5;

const PAST = "past_sequence_length";
const TOTAL = "past_sequence_length + sequence_length";
/** The gqa layout's cache dimension: its capacity, at least every row's past + new tokens. */
const MAX = "max_sequence_length";
const INT64_MAX = 2n ** 63n - 1n;

export const pastKeyName = (layer: number) => `past_key_values.${layer}.key`;
export const pastValueName = (layer: number) => `past_key_values.${layer}.value`;
export const presentKeyName = (layer: number) => `present.${layer}.key`;
export const presentValueName = (layer: number) => `present.${layer}.value`;
/** The append layout's outputs: the new positions' keys and values only. */
export const newKeyName = (layer: number) => `new_key_values.${layer}.key`;
export const newValueName = (layer: number) => `new_key_values.${layer}.value`;

interface Dims {
  nHead: number;
  hd: number;
  nEmbd: number;
}

interface LayerCache {
  key: string;
  value: string;
}

/** Attention of packed [batch, seq, 3 * embd] q|k|v over the cache: the [batch, seq, embd] context (and the layer's outputs). */
type Attend = (qkv: string, past: LayerCache, layer: number) => string;

/** Serializes the model for `weights` (IR 8, opset 17; the gqa layout also imports com.microsoft 1). */
export function encodeGpt2Model(weights: Gpt2Weights, layout: KvLayout = "standard"): Uint8Array {
  const { nLayer, nHead, nEmbd, vocabSize } = weights.shape;
  const hd = headDim(weights.shape);
  const dims = { nHead, hd, nEmbd };
  const g = new GraphBuilder();

  const inputIds = g.input("input_ids", INT64, ["batch_size", "sequence_length"]);
  const attentionMask = g.input("attention_mask", INT64, [
    "batch_size",
    layout === "standard" ? TOTAL : "total_sequence_length",
  ]);
  const positionIds = g.input("position_ids", INT64, ["batch_size", "sequence_length"]);
  const cacheDims = ["batch_size", nHead, layout === "standard" ? PAST : MAX, hd];
  const past = Array.from({ length: nLayer }, (_, i) => ({
    key: g.input(pastKeyName(i), FLOAT, cacheDims),
    value: g.input(pastValueName(i), FLOAT, cacheDims),
  }));
  // A scalar, as transformers.js feeds it: 0 keeps every position, N > 0 the last N.
  const numLogitsToKeep = g.input("num_logits_to_keep", INT64, []);

  const wte = g.floatTensor(weights.wte.name, weights.wte.dims, weights.wte.data);
  const wpe = g.floatTensor(weights.wpe.name, weights.wpe.dims, weights.wpe.data);
  const attend =
    layout === "gqa"
      ? groupQueryAttention(g, attentionMask, dims)
      : layout === "append"
        ? appendAttention(g, inputIds, attentionMask, past[0].key, dims)
        : concatAttention(g, attentionBias(g, inputIds, attentionMask), dims);

  let x = g.op("Add", [g.op("Gather", [wte, inputIds]), g.op("Gather", [wpe, positionIds])]);
  weights.blocks.forEach((block, layer) => {
    g.scope = `h.${layer}/`;
    x = transformerBlock(g, x, block, (qkv) => attend(qkv, past[layer], layer));
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
    if (layout === "append") {
      g.output(newKeyName(i), FLOAT, ["batch_size", nHead, "sequence_length", hd]);
      g.output(newValueName(i), FLOAT, ["batch_size", nHead, "sequence_length", hd]);
    } else {
      const presentDims = layout === "gqa" ? cacheDims : ["batch_size", nHead, TOTAL, hd];
      g.output(presentKeyName(i), FLOAT, presentDims);
      g.output(presentValueName(i), FLOAT, presentDims);
    }
  }
  const doc = `GPT-2 decoder: ${nLayer} layers, ${nHead} heads, ${nEmbd} wide`;
  return g.encode("gpt2_decoder", layout === "standard" ? doc : `${doc}, ${layout} KV layout`);
}

/**
 * [batch, 1, seq, past + seq] additive bias: 0 where query i (at absolute index past + i) may attend to
 * key j (j <= past + i, and attention_mask[b, j] = 1), MASKED_SCORE elsewhere.
 */
export function attentionBias(g: GraphBuilder, inputIds: string, attentionMask: string): string {
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

function transformerBlock(g: GraphBuilder, x: string, w: BlockWeights, attend: (qkv: string) => string): string {
  const qkv = linear(g, layerNorm(g, x, w.ln1Gamma, w.ln1Beta), w.attnW, w.attnB);
  const afterAttention = g.op("Add", [x, linear(g, attend(qkv), w.attnProjW, w.attnProjB)]);
  return g.op("Add", [afterAttention, mlp(g, layerNorm(g, afterAttention, w.ln2Gamma, w.ln2Beta), w)]);
}

/** Design §4's attention: present = Concat(past, new), scores masked by `maskBias`. */
function concatAttention(g: GraphBuilder, maskBias: string, { nHead, hd, nEmbd }: Dims): Attend {
  return (qkv, past, layer) => {
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
    return g.op("Reshape", [context, g.int64([0, 0, nEmbd])]);
  };
}

/**
 * GroupQueryAttention (num_heads = kv_num_heads: plain multi-head attention, no rotary) over a cache of
 * capacity max_sequence_length. Rows are right-padded: row b's attention_mask has ones for its first
 * past_b + new positions, so seqlens_k = sum - 1 and total_sequence_length = the mask's width. The kernel reads
 * only the first past_b positions of a row's cache and writes the new ones after them: when present is bound to
 * the past buffer (ONNX Runtime: a pre-allocated output over the same memory) nothing else is copied.
 */
function groupQueryAttention(g: GraphBuilder, attentionMask: string, { nHead }: Dims): Attend {
  g.scope = "mask/";
  const one = g.int64([1], true);
  const lengths = g.op("ReduceSum", [attentionMask, g.int64([1])], { keepdims: int(0) });
  const seqlensK = g.op("Cast", [g.op("Sub", [lengths, one])], { to: int(INT32) });
  const total = g.op("Cast", [g.op("Gather", [g.op("Shape", [attentionMask]), one])], { to: int(INT32) });
  return (qkv, past, layer) => {
    const inputs = [qkv, "", "", past.key, past.value, seqlensK, total]; // "" = absent: q|k|v come packed
    const outputs = [`h.${layer}/attention`, presentKeyName(layer), presentValueName(layer)];
    const attrs = { num_heads: int(nHead), kv_num_heads: int(nHead) };
    return g.opMulti("GroupQueryAttention", inputs, 3, attrs, outputs, MS_DOMAIN)[0];
  };
}

/**
 * Attention over a cache the graph only reads: past of capacity max_sequence_length, row b's first past_b
 * positions real (right padding; past_b = sum(attention_mask[b]) - sequence_length), and the new positions'
 * keys and values, which are the layer's only cache outputs. Scores over past and new are softmaxed together;
 * nothing the size of the cache is copied (the caller appends the new positions to its buffers).
 */
function appendAttention(
  g: GraphBuilder,
  inputIds: string,
  attentionMask: string,
  anyPast: string,
  { nHead, hd, nEmbd }: Dims,
): Attend {
  g.scope = "mask/";
  const [zero, one] = [g.int64([0], true), g.int64([1], true)];
  const newLen = g.op("Gather", [g.op("Shape", [inputIds]), one]);
  const capacity = g.op("Gather", [g.op("Shape", [anyPast]), g.int64([2], true)]);
  const pastLens = g.op("Sub", [g.op("ReduceSum", [attentionMask, g.int64([1])], { keepdims: int(1) }), newLen]);
  // [batch, 1, 1, capacity]: a row's real past positions are visible to all its new positions.
  const pastVisible = g.op("Less", [g.op("Range", [zero, capacity, one]), pastLens]);
  const pastBias = g.op("Where", [
    g.op("Unsqueeze", [pastVisible, g.int64([1, 2])]),
    g.floatScalar(0),
    g.floatScalar(MASKED_SCORE),
  ]);
  // [new, new]: causal among the new positions.
  const newPos = g.op("Range", [zero, newLen, one]);
  const causal = g.op("LessOrEqual", [newPos, g.op("Unsqueeze", [newPos, g.int64([1])])]);
  const newBias = g.op("Where", [causal, g.floatScalar(0), g.floatScalar(MASKED_SCORE)]);
  const toVector = (scalar: string) => g.op("Unsqueeze", [scalar, g.int64([0])]);
  const probsSplit = g.op("Concat", [toVector(capacity), toVector(newLen)], { axis: int(0) });
  return (qkv, past, layer) => {
    const [q, k, v] = g.opMulti("Split", [qkv], 3, { axis: int(2) });
    const splitHeads = g.int64([0, 0, nHead, hd]);
    // [batch, seq, embd] -> [batch, heads, seq, head_dim]
    const heads = (t: string, name?: string) =>
      g.op("Transpose", [g.op("Reshape", [t, splitHeads])], { perm: ints([0, 2, 1, 3]) }, name);
    const query = g.op("Mul", [heads(q), g.floatScalar(1 / Math.sqrt(hd))]);
    const key = heads(k, newKeyName(layer));
    const value = heads(v, newValueName(layer));
    const scores = (keys: string, bias: string) =>
      g.op("Add", [g.op("MatMul", [query, g.op("Transpose", [keys], { perm: ints([0, 1, 3, 2]) })]), bias]);
    const both = g.op("Concat", [scores(past.key, pastBias), scores(key, newBias)], { axis: int(-1) });
    const [pastProbs, newProbs] = g.opMulti("Split", [g.op("Softmax", [both], { axis: int(-1) }), probsSplit], 2, {
      axis: int(-1),
    });
    const context = g.op("Add", [g.op("MatMul", [pastProbs, past.value]), g.op("MatMul", [newProbs, value])]);
    return g.op("Reshape", [g.op("Transpose", [context], { perm: ints([0, 2, 1, 3]) }), g.int64([0, 0, nEmbd])]);
  };
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

export function linear(g: GraphBuilder, x: string, weight: WeightTensor, bias: WeightTensor): string {
  const wName = g.floatTensor(weight.name, weight.dims, weight.data);
  const bName = g.floatTensor(bias.name, bias.dims, bias.data);
  return g.op("Add", [g.op("MatMul", [x, wName]), bName]);
}

export function layerNorm(
  g: GraphBuilder,
  x: string,
  gamma: WeightTensor,
  beta: WeightTensor,
  epsilon = LAYER_NORM_EPSILON,
): string {
  const scale = g.floatTensor(gamma.name, gamma.dims, gamma.data);
  const bias = g.floatTensor(beta.name, beta.dims, beta.data);
  return g.op("LayerNormalization", [x, scale, bias], { axis: int(-1), epsilon: float(epsilon) });
}
