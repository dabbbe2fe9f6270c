// The Llama decoder (RMSNorm, RoPE, grouped-query attention, SwiGLU) as an ONNX graph with Optimum's
// input/output names and shapes: input_ids, attention_mask, position_ids and past_key_values.* in, logits and
// present.* out, no num_logits_to_keep (as Optimum exports it). The fp16 file stores weights, the KV cache and
// the logits as float16 and computes in float32: keys and values are rounded to float16 before attention reads
// them, so a cached step sees exactly what a recompute does.
import { toFloat16 } from "@llm/prefix-cache";
import {
  attentionBias,
  MASKED_SCORE,
  newKeyName,
  newValueName,
  pastKeyName,
  pastValueName,
  presentKeyName,
  presentValueName,
} from "./gpt2-graph.js";
import type { LlamaLayerWeights, LlamaWeights } from "./llama-weights.js";
import { RMS_NORM_EPSILON, ropeInverseFrequencies } from "./llama-weights.js";
import { FLOAT, FLOAT16, GraphBuilder, INT64, int, ints } from "./onnx-writer.js";
import { headDim, type KvLayout } from "./presets.js";
import type { WeightTensor } from "./weights.js";

/** Which file: onnx/model.onnx (float32) or onnx/model_fp16.onnx (float16 weights, cache and logits). */
export type LlamaDtype = "fp32" | "fp16";

const TOTAL = "past_sequence_length + sequence_length";
/** The append layout's cache dimension: its capacity, at least every row's past + new tokens. */
const MAX = "max_sequence_length";

interface Attention {
  /** [1]: the new positions' count. */
  seqLen: string;
  nHead: number;
  nKvHead: number;
  hd: number;
  /** [batch, 1, seq, hd] each. */
  cos: string;
  sin: string;
}

/** Keys and values attended together, with the additive mask of their scores (broadcast to [batch, kv, group, seq, keys]). */
interface KeySegment {
  keys: string;
  values: string;
  bias: string;
}

/**
 * `layout`: `standard` (Optimum's names; present = Concat(past, new)) or `append` (the model pack's: a cache of
 * fixed capacity the graph only reads, each row's real positions first; new_key_values.* = the new positions only).
 */
export function encodeLlamaModel(
  weights: LlamaWeights,
  dtype: LlamaDtype = "fp32",
  layout: Exclude<KvLayout, "gqa"> = "standard",
  /** `last_hidden_state`: a decoder embedding model's graph, the final norm's output instead of the head's logits. */
  output: "logits" | "last_hidden_state" = "logits",
): Uint8Array {
  const { shape, llama } = weights;
  const hd = headDim(shape, llama);
  const half = dtype === "fp16";
  const cacheType = half ? FLOAT16 : FLOAT;
  const g = new GraphBuilder();
  /** A weight as a float32 value: the float32 initializer, or the float16 one widened (once: a tied head reuses it). */
  const widened = new Map<string, string>();
  const weight = (w: WeightTensor) => {
    let value = widened.get(w.name);
    if (value === undefined) {
      value = half
        ? g.op("Cast", [g.float16Tensor(w.name, w.dims, toFloat16(w.data))], { to: int(FLOAT) })
        : g.floatTensor(w.name, w.dims, w.data);
      widened.set(w.name, value);
    }
    return value;
  };

  const inputIds = g.input("input_ids", INT64, ["batch_size", "sequence_length"]);
  const append = layout === "append";
  const attentionMask = g.input("attention_mask", INT64, ["batch_size", append ? "total_sequence_length" : TOTAL]);
  const positionIds = g.input("position_ids", INT64, ["batch_size", "sequence_length"]);
  const cacheDims = ["batch_size", llama.nKvHead, append ? MAX : "past_sequence_length", hd];
  const past = Array.from({ length: shape.nLayer }, (_, i) => ({
    key: g.input(pastKeyName(i), cacheType, cacheDims),
    value: g.input(pastValueName(i), cacheType, cacheDims),
  }));

  const biases = append
    ? appendBiases(g, inputIds, attentionMask, past[0].key)
    : { whole: g.op("Unsqueeze", [attentionBias(g, inputIds, attentionMask), g.int64([1])]) };
  g.scope = "rope/";
  const [cos, sin] = rotaryTables(g, positionIds, ropeInverseFrequencies(hd, llama));
  const seqLen = g.op("Gather", [g.op("Shape", [inputIds]), g.int64([1])]);
  const attention: Attention = { seqLen, nHead: shape.nHead, nKvHead: llama.nKvHead, hd, cos, sin };

  let x = g.op("Gather", [weight(weights.embed), inputIds]);
  weights.layers.forEach((layer, i) => {
    g.scope = `layers.${i}/`;
    const store = (t: string) => (half ? g.op("Cast", [t], { to: int(FLOAT16) }) : t);
    const widen = (t: string) => (half ? g.op("Cast", [t], { to: int(FLOAT) }) : t);
    const selfAttention = (normed: string) => {
      const kv = cachedKeysValues(g, normed, layer, attention, weight);
      let segments: KeySegment[];
      if (!("past" in biases)) {
        const key = g.op("Concat", [past[i].key, store(kv.key)], { axis: int(2) }, presentKeyName(i));
        const value = g.op("Concat", [past[i].value, store(kv.value)], { axis: int(2) }, presentValueName(i));
        segments = [{ keys: widen(key), values: widen(value), bias: biases.whole }];
      } else {
        // The new positions' keys and values as the caller will cache them (rounded in fp16), so a cached step
        // reads exactly what this one used.
        const key = half ? store(kv.key) : g.op("Identity", [kv.key]);
        const value = half ? store(kv.value) : g.op("Identity", [kv.value]);
        const newKey = g.op("Identity", [key], {}, newKeyName(i));
        const newValue = g.op("Identity", [value], {}, newValueName(i));
        segments = [
          { keys: widen(past[i].key), values: widen(past[i].value), bias: biases.past },
          { keys: widen(newKey), values: widen(newValue), bias: biases.new },
        ];
      }
      return attend(g, kv.query, segments, layer, attention, weight);
    };
    x = g.op("Add", [x, selfAttention(rmsNorm(g, x, weight(layer.inputNorm)))]);
    x = g.op("Add", [x, swiGlu(g, rmsNorm(g, x, weight(layer.postAttentionNorm)), layer, weight)]);
  });
  g.scope = "head/";
  const normed = rmsNorm(g, x, weight(weights.norm));
  if (output === "last_hidden_state") {
    if (half) g.op("Cast", [normed], { to: int(FLOAT16) }, output);
    else g.op("Identity", [normed], {}, output);
    g.output(output, cacheType, ["batch_size", "sequence_length", shape.nEmbd]);
  } else {
    const head = g.op("Transpose", [weight(weights.head)], { perm: ints([1, 0]) });
    const logits = g.op("MatMul", [normed, head]);
    if (half) g.op("Cast", [logits], { to: int(FLOAT16) }, "logits");
    else g.op("Identity", [logits], {}, "logits");
    g.output("logits", cacheType, ["batch_size", "sequence_length", shape.vocabSize]);
  }
  for (let i = 0; i < shape.nLayer; i++) {
    const dims = ["batch_size", llama.nKvHead, append ? "sequence_length" : TOTAL, hd];
    g.output(append ? newKeyName(i) : presentKeyName(i), cacheType, dims);
    g.output(append ? newValueName(i) : presentValueName(i), cacheType, dims);
  }
  const heads = `${shape.nHead} heads (${llama.nKvHead} KV) of ${hd}`;
  const what = `Llama decoder: ${shape.nLayer} layers, ${shape.nEmbd} wide, ${heads}, ${dtype}, ${layout} KV layout`;
  return g.encode("llama_decoder", what);
}

/** cos and sin of position x inverse frequency, [batch, 1, seq, hd] (each frequency twice: rotate_half's halves). */
function rotaryTables(g: GraphBuilder, positionIds: string, inverse: Float64Array): [string, string] {
  const positions = g.op("Unsqueeze", [g.op("Cast", [positionIds], { to: int(FLOAT) }), g.int64([2])]);
  const freqs = g.op("Mul", [
    positions,
    g.floatTensor(`${g.scope}inv_freq`, [inverse.length], Float32Array.from(inverse)),
  ]);
  const angles = g.op("Unsqueeze", [g.op("Concat", [freqs, freqs], { axis: int(-1) }), g.int64([1])]);
  return [g.op("Cos", [angles]), g.op("Sin", [angles])];
}

/** x cos + rotate_half(x) sin, rotate_half(x) = [-x2, x1] over the halves of the last axis. */
function rotate(g: GraphBuilder, x: string, { cos, sin }: Attention): string {
  const [x1, x2] = g.opMulti("Split", [x], 2, { axis: int(-1) });
  const rotated = g.op("Concat", [g.op("Neg", [x2]), x1], { axis: int(-1) });
  return g.op("Add", [g.op("Mul", [x, cos]), g.op("Mul", [rotated, sin])]);
}

/** [batch, seq, heads * hd] -> [batch, heads, seq, hd] */
function splitHeads(g: GraphBuilder, t: string, heads: number, hd: number): string {
  return g.op("Transpose", [g.op("Reshape", [t, g.int64([0, 0, heads, hd])])], { perm: ints([0, 2, 1, 3]) });
}

type Weight = (w: WeightTensor) => string;

/** The new positions' rotated, scaled queries grouped by KV head ([batch, kv, group * seq, hd]), keys and values. */
function cachedKeysValues(g: GraphBuilder, h: string, w: LlamaLayerWeights, a: Attention, weight: Weight) {
  const q = rotate(g, splitHeads(g, g.op("MatMul", [h, weight(w.q)]), a.nHead, a.hd), a);
  const scaled = g.op("Mul", [q, g.floatScalar(1 / Math.sqrt(a.hd))]);
  return {
    // Query heads kv*group .. kv*group + group - 1 share KV head kv: grouping them avoids repeating the cache.
    query: g.op("Reshape", [scaled, g.int64([0, a.nKvHead, -1, a.hd])]),
    key: rotate(g, splitHeads(g, g.op("MatMul", [h, weight(w.k)]), a.nKvHead, a.hd), a),
    value: splitHeads(g, g.op("MatMul", [h, weight(w.v)]), a.nKvHead, a.hd),
  };
}

/** Softmax over the segments' keys together; the context is the sum of each segment's probabilities x values. */
function attend(
  g: GraphBuilder,
  query: string,
  segments: KeySegment[],
  w: LlamaLayerWeights,
  a: Attention,
  weight: Weight,
): string {
  const heads = g.int64([a.nKvHead, a.nHead / a.nKvHead]);
  const parts = segments.map(({ keys, bias }) => {
    const scores = g.op("MatMul", [query, g.op("Transpose", [keys], { perm: ints([0, 1, 3, 2]) })]);
    const width = g.op("Shape", [scores], { start: int(3) });
    // [batch, kv, group * seq, keys] -> [batch, kv, group, seq, keys], so the masks broadcast over the group.
    // Every dimension spelled out (allowzero): an empty cache's 0 keys must stay 0, not mean "copy".
    const dims = [g.op("Shape", [scores], { end: int(1) }), heads, a.seqLen, width];
    const grouped = g.op("Reshape", [scores, g.op("Concat", dims, { axis: int(0) })], { allowzero: int(1) });
    return { grouped: g.op("Add", [grouped, bias]), shape: g.op("Shape", [scores]), width };
  });
  const all =
    parts.length === 1
      ? parts[0].grouped
      : g.op(
          "Concat",
          parts.map((p) => p.grouped),
          { axis: int(-1) },
        );
  const probs = g.op("Softmax", [all], { axis: int(-1) });
  const split =
    parts.length === 1
      ? [probs]
      : g.opMulti(
          "Split",
          [
            probs,
            g.op(
              "Concat",
              parts.map((p) => p.width),
              { axis: int(0) },
            ),
          ],
          parts.length,
          {
            axis: int(-1),
          },
        );
  const contexts = segments.map(({ values }, i) =>
    g.op("MatMul", [g.op("Reshape", [split[i], parts[i].shape]), values]),
  );
  const context = contexts.reduce((sum, c) => g.op("Add", [sum, c]));
  const perHead = g.op("Reshape", [context, g.int64([0, a.nHead, -1, a.hd])]);
  const merged = g.op("Reshape", [
    g.op("Transpose", [perHead], { perm: ints([0, 2, 1, 3]) }),
    g.int64([0, 0, a.nHead * a.hd]),
  ]);
  return g.op("MatMul", [merged, weight(w.o)]);
}

/**
 * The append layout's masks: a row's first past_b = sum(attention_mask[b]) - seq cache positions are visible to
 * all its new positions ([batch, 1, 1, 1, capacity]); the new positions see each other causally ([seq, seq]).
 */
function appendBiases(g: GraphBuilder, inputIds: string, attentionMask: string, anyPast: string) {
  g.scope = "mask/";
  const [zero, one] = [g.int64([0], true), g.int64([1], true)];
  const newLen = g.op("Gather", [g.op("Shape", [inputIds]), one]);
  const capacity = g.op("Gather", [g.op("Shape", [anyPast]), g.int64([2], true)]);
  const pastLens = g.op("Sub", [g.op("ReduceSum", [attentionMask, g.int64([1])], { keepdims: int(1) }), newLen]);
  const visible = g.op("Less", [g.op("Range", [zero, capacity, one]), pastLens]);
  const masked = (allowed: string) => g.op("Where", [allowed, g.floatScalar(0), g.floatScalar(MASKED_SCORE)]);
  const newPos = g.op("Range", [zero, newLen, one]);
  const causal = g.op("LessOrEqual", [newPos, g.op("Unsqueeze", [newPos, g.int64([1])])]);
  return {
    past: masked(g.op("Unsqueeze", [visible, g.int64([1, 2, 3])])),
    new: masked(causal),
  };
}

function swiGlu(g: GraphBuilder, h: string, w: LlamaLayerWeights, weight: Weight): string {
  const gate = g.op("MatMul", [h, weight(w.gate)]);
  const silu = g.op("Mul", [gate, g.op("Sigmoid", [gate])]);
  return g.op("MatMul", [g.op("Mul", [silu, g.op("MatMul", [h, weight(w.up)])]), weight(w.down)]);
}

/** x / sqrt(mean(x^2) + eps) * gain, over the last axis. */
function rmsNorm(g: GraphBuilder, x: string, gain: string): string {
  const meanSquare = g.op("ReduceMean", [g.op("Mul", [x, x])], { axes: ints([-1]), keepdims: int(1) });
  const inverse = g.op("Reciprocal", [g.op("Sqrt", [g.op("Add", [meanSquare, g.floatScalar(RMS_NORM_EPSILON)])])]);
  return g.op("Mul", [g.op("Mul", [x, inverse]), gain]);
}
