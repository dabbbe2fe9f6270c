// GPT-2 weights, in the layout the graph and the reference read: trained ones (read from a file), or seeded
// random ones for the test and benchmark presets. Every seeded tensor has its own PRNG stream, seeded from the
// preset seed and the tensor's name, so a tensor's values never depend on the order tensors are generated in.
// Values are uniform draws (integer PRNG, then only multiply/add): bit-identical on every JavaScript engine.
import type { ModelShape } from "./presets.js";
import type { StoredTensor } from "./safetensors.js";

export interface WeightTensor {
  /** The initializer name in the ONNX graph (Hugging Face's GPT-2 parameter names). */
  name: string;
  dims: number[];
  data: Float32Array;
}

export interface BlockWeights {
  ln1Gamma: WeightTensor;
  ln1Beta: WeightTensor;
  /** [nEmbd, 3 * nEmbd]: query, key and value projections side by side. */
  attnW: WeightTensor;
  attnB: WeightTensor;
  /** [nEmbd, nEmbd] */
  attnProjW: WeightTensor;
  attnProjB: WeightTensor;
  ln2Gamma: WeightTensor;
  ln2Beta: WeightTensor;
  /** [nEmbd, 4 * nEmbd] */
  fcW: WeightTensor;
  fcB: WeightTensor;
  /** [4 * nEmbd, nEmbd] */
  fcProjW: WeightTensor;
  fcProjB: WeightTensor;
}

export interface Gpt2Weights {
  shape: ModelShape;
  /** [vocabSize, nEmbd]; also the (tied) LM head. */
  wte: WeightTensor;
  /** [nPositions, nEmbd] */
  wpe: WeightTensor;
  blocks: BlockWeights[];
  lnFGamma: WeightTensor;
  lnFBeta: WeightTensor;
}

const TOKEN_EMBEDDING_STD = 0.02;
/** Target standard deviation of the logits over the vocabulary. */
const LOGIT_SPREAD = 2;

/**
 * Scales chosen so a random model behaves like a model, not noise. Projections keep unit variance
 * (std 1/sqrt(fan_in)). Embeddings are small (GPT-2's own 0.02 / 0.01), so a token's embedding, which the
 * tied LM head reads back, does not dominate the residual stream (that makes greedy decoding repeat the
 * last token forever); the final norm's gain instead gives the logits a spread of about 2, so greedy
 * decoding follows the context without the distribution looking uniform.
 * Norm gains and biases are random too, so a graph that dropped one would not match the reference.
 */
export function generateWeights(shape: ModelShape, seed: number): Gpt2Weights {
  return assemble(shape, (name, dims, std, center = 0) => ({
    name,
    dims,
    data: uniformTensor(seed, name, dims, std, center),
  }));
}

/** Trained weights (float32 tensors by Hugging Face GPT-2 name, see safetensors.ts), checked against `shape`. */
export function trainedWeights(shape: ModelShape, tensors: Map<string, StoredTensor>): Gpt2Weights {
  return assemble(shape, (name, dims) => {
    const tensor = tensors.get(name);
    if (!tensor) throw new Error(`trained weights lack tensor ${name}`);
    if (tensor.dims.join("x") !== dims.join("x")) {
      throw new Error(`trained tensor ${name} is ${tensor.dims.join("x")}, the preset's shape needs ${dims.join("x")}`);
    }
    return { name, dims, data: tensor.data };
  });
}

/** Where a tensor's values come from; `std` and `center` describe the seeded generator's distribution. */
type TensorSource = (name: string, dims: number[], std: number, center?: number) => WeightTensor;

function assemble(shape: ModelShape, tensor: TensorSource): Gpt2Weights {
  const d = shape.nEmbd;
  const blocks: BlockWeights[] = [];
  for (let i = 0; i < shape.nLayer; i++) {
    const p = `transformer.h.${i}`;
    blocks.push({
      ln1Gamma: tensor(`${p}.ln_1.weight`, [d], 0.1, 1),
      ln1Beta: tensor(`${p}.ln_1.bias`, [d], 0.05),
      attnW: tensor(`${p}.attn.c_attn.weight`, [d, 3 * d], 1 / Math.sqrt(d)),
      attnB: tensor(`${p}.attn.c_attn.bias`, [3 * d], 0.05),
      attnProjW: tensor(`${p}.attn.c_proj.weight`, [d, d], 1 / Math.sqrt(d)),
      attnProjB: tensor(`${p}.attn.c_proj.bias`, [d], 0.05),
      ln2Gamma: tensor(`${p}.ln_2.weight`, [d], 0.1, 1),
      ln2Beta: tensor(`${p}.ln_2.bias`, [d], 0.05),
      fcW: tensor(`${p}.mlp.c_fc.weight`, [d, 4 * d], 1 / Math.sqrt(d)),
      fcB: tensor(`${p}.mlp.c_fc.bias`, [4 * d], 0.05),
      fcProjW: tensor(`${p}.mlp.c_proj.weight`, [4 * d, d], 1 / Math.sqrt(4 * d)),
      fcProjB: tensor(`${p}.mlp.c_proj.bias`, [d], 0.05),
    });
  }
  const logitGain = LOGIT_SPREAD / (Math.sqrt(d) * TOKEN_EMBEDDING_STD);
  return {
    shape,
    wte: tensor("transformer.wte.weight", [shape.vocabSize, d], TOKEN_EMBEDDING_STD),
    wpe: tensor("transformer.wpe.weight", [shape.nPositions, d], TOKEN_EMBEDDING_STD / 2),
    blocks,
    lnFGamma: tensor("transformer.ln_f.weight", [d], 0.1 * logitGain, logitGain),
    lnFBeta: tensor("transformer.ln_f.bias", [d], 0.05),
  };
}

export function uniformTensor(seed: number, name: string, dims: number[], std: number, center: number): Float32Array {
  const next = mulberry32((seed ^ fnv1a(name)) >>> 0);
  // A uniform distribution on [-a, a] has standard deviation a / sqrt(3).
  const halfWidth = std * Math.sqrt(3);
  const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = center + (2 * next() - 1) * halfWidth;
  return data;
}

/** A small, fast 32-bit PRNG; returns floats in [0, 1). */
function mulberry32(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}
