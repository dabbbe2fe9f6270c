// A BERT encoder as an ONNX graph in Hugging Face's export layout (optimum's and transformers.js's
// feature-extraction models): input_ids, attention_mask, token_type_ids → last_hidden_state. Padding keys
// are masked out of every attention; positions are 0..n-1 of each row (right padding).
import {
  BERT_LAYER_NORM_EPSILON,
  type BertLayerWeights,
  type BertLinear,
  type BertNorm,
  type BertWeights,
} from "./bert-weights.js";
import { layerNorm, linear, MASKED_SCORE } from "./gpt2-graph.js";
import { BOOL, FLOAT, GraphBuilder, INT64, int, ints } from "./onnx-writer.js";
import { headDim } from "./presets.js";

export const LAST_HIDDEN_STATE = "last_hidden_state";
const BATCH = "batch_size";
const SEQ = "sequence_length";

export function encodeBertModel(weights: BertWeights): Uint8Array {
  const { nLayer, nHead, nEmbd } = weights.shape;
  const hd = headDim(weights.shape);
  const g = new GraphBuilder();
  const inputIds = g.input("input_ids", INT64, [BATCH, SEQ]);
  const attentionMask = g.input("attention_mask", INT64, [BATCH, SEQ]);
  const tokenTypeIds = g.input("token_type_ids", INT64, [BATCH, SEQ]);

  g.scope = "embeddings/";
  const table = (t: { name: string; dims: number[]; data: Float32Array }) => g.floatTensor(t.name, t.dims, t.data);
  const one = g.int64([1], true);
  const seqLen = g.op("Gather", [g.op("Shape", [inputIds]), one]);
  const positions = g.op("Range", [g.int64([0], true), seqLen, one]);
  const summed = g.op("Add", [
    g.op("Add", [
      g.op("Gather", [table(weights.wordEmbeddings), inputIds]),
      g.op("Gather", [table(weights.positionEmbeddings), positions]),
    ]),
    g.op("Gather", [table(weights.tokenTypeEmbeddings), tokenTypeIds]),
  ]);
  let x = norm(g, summed, weights.embeddingNorm);

  g.scope = "mask/";
  // [batch, 1, 1, seq]: 0 for real keys, MASKED_SCORE for padding.
  const keyVisible = g.op("Unsqueeze", [g.op("Cast", [attentionMask], { to: int(BOOL) }), g.int64([1, 2])]);
  const maskBias = g.op("Where", [keyVisible, g.floatScalar(0), g.floatScalar(MASKED_SCORE)]);

  weights.layers.forEach((layer, i) => {
    g.scope = `layer.${i}/`;
    x = encoderLayer(g, x, layer, maskBias, nHead, hd, nEmbd);
  });
  g.scope = "";
  g.op("Identity", [x], {}, LAST_HIDDEN_STATE);
  g.output(LAST_HIDDEN_STATE, FLOAT, [BATCH, SEQ, nEmbd]);
  return g.encode("bert_encoder", `BERT encoder: ${nLayer} layers, ${nHead} heads, ${nEmbd} wide`);
}

function encoderLayer(
  g: GraphBuilder,
  x: string,
  w: BertLayerWeights,
  maskBias: string,
  nHead: number,
  hd: number,
  nEmbd: number,
): string {
  const splitHeads = g.int64([0, 0, nHead, hd]);
  // [batch, seq, embd] -> [batch, heads, seq, head_dim]
  const heads = (t: string) => g.op("Transpose", [g.op("Reshape", [t, splitHeads])], { perm: ints([0, 2, 1, 3]) });
  const q = heads(dense(g, x, w.query));
  const keyT = g.op("Transpose", [heads(dense(g, x, w.key))], { perm: ints([0, 1, 3, 2]) });
  const scores = g.op("Mul", [g.op("MatMul", [q, keyT]), g.floatScalar(1 / Math.sqrt(hd))]);
  const probs = g.op("Softmax", [g.op("Add", [scores, maskBias])], { axis: int(-1) });
  const context = g.op("Transpose", [g.op("MatMul", [probs, heads(dense(g, x, w.value))])], {
    perm: ints([0, 2, 1, 3]),
  });
  const attended = dense(g, g.op("Reshape", [context, g.int64([0, 0, nEmbd])]), w.attentionOut);
  const h = norm(g, g.op("Add", [attended, x]), w.attentionNorm);
  const out = dense(g, geluErf(g, dense(g, h, w.intermediate)), w.output);
  return norm(g, g.op("Add", [out, h]), w.outputNorm);
}

/** BERT's GELU: 0.5 x (1 + erf(x / sqrt 2)). */
function geluErf(g: GraphBuilder, x: string): string {
  const erf = g.op("Erf", [g.op("Mul", [x, g.floatScalar(Math.SQRT1_2)])]);
  return g.op("Mul", [g.op("Mul", [x, g.floatScalar(0.5)]), g.op("Add", [erf, g.floatScalar(1)])]);
}

function dense(g: GraphBuilder, x: string, w: BertLinear): string {
  return linear(g, x, w.weight, w.bias);
}

function norm(g: GraphBuilder, x: string, w: BertNorm): string {
  return layerNorm(g, x, w.gamma, w.beta, BERT_LAYER_NORM_EPSILON);
}
