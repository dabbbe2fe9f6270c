// Seeded random weights for a BERT-architecture encoder (the embed presets), named as Hugging Face's
// BertModel names its parameters. Linear weights are stored [in, out], as the graph multiplies them.
import type { ModelShape } from "./presets.js";
import { uniformTensor, type WeightTensor } from "./weights.js";

export interface BertLinear {
  weight: WeightTensor;
  bias: WeightTensor;
}

export interface BertNorm {
  gamma: WeightTensor;
  beta: WeightTensor;
}

export interface BertLayerWeights {
  query: BertLinear;
  key: BertLinear;
  value: BertLinear;
  /** Attention output projection, then residual and post-norm. */
  attentionOut: BertLinear;
  attentionNorm: BertNorm;
  /** [hidden, 4 * hidden], GELU (erf). */
  intermediate: BertLinear;
  output: BertLinear;
  outputNorm: BertNorm;
}

export interface BertWeights {
  shape: ModelShape;
  /** [vocabSize, hidden] */
  wordEmbeddings: WeightTensor;
  /** [nPositions, hidden] */
  positionEmbeddings: WeightTensor;
  /** [TYPE_VOCAB_SIZE, hidden] */
  tokenTypeEmbeddings: WeightTensor;
  embeddingNorm: BertNorm;
  layers: BertLayerWeights[];
}

/** Segment ids A and B, as BERT has. */
export const TYPE_VOCAB_SIZE = 2;
/** BERT's LayerNorm epsilon. */
export const BERT_LAYER_NORM_EPSILON = 1e-12;

/**
 * Post-norm blocks keep activations bounded whatever the draws, so plain scales suffice: projections keep
 * unit variance (std 1/sqrt(fan_in)), embeddings BERT's 0.02, norm gains near 1 and biases nonzero so a
 * graph that dropped any of them would not match the reference.
 */
export function generateBertWeights(shape: ModelShape, seed: number): BertWeights {
  const d = shape.nEmbd;
  const tensor = (name: string, dims: number[], std: number, center = 0): WeightTensor => ({
    name,
    dims,
    data: uniformTensor(seed, name, dims, std, center),
  });
  const linear = (name: string, inDim: number, outDim: number): BertLinear => ({
    weight: tensor(`${name}.weight`, [inDim, outDim], 1 / Math.sqrt(inDim)),
    bias: tensor(`${name}.bias`, [outDim], 0.05),
  });
  const norm = (name: string): BertNorm => ({
    gamma: tensor(`${name}.weight`, [d], 0.1, 1),
    beta: tensor(`${name}.bias`, [d], 0.05),
  });
  const layers = Array.from({ length: shape.nLayer }, (_, i): BertLayerWeights => {
    const p = `encoder.layer.${i}`;
    return {
      query: linear(`${p}.attention.self.query`, d, d),
      key: linear(`${p}.attention.self.key`, d, d),
      value: linear(`${p}.attention.self.value`, d, d),
      attentionOut: linear(`${p}.attention.output.dense`, d, d),
      attentionNorm: norm(`${p}.attention.output.LayerNorm`),
      intermediate: linear(`${p}.intermediate.dense`, d, 4 * d),
      output: linear(`${p}.output.dense`, 4 * d, d),
      outputNorm: norm(`${p}.output.LayerNorm`),
    };
  });
  return {
    shape,
    wordEmbeddings: tensor("embeddings.word_embeddings.weight", [shape.vocabSize, d], 0.02),
    positionEmbeddings: tensor("embeddings.position_embeddings.weight", [shape.nPositions, d], 0.02),
    tokenTypeEmbeddings: tensor("embeddings.token_type_embeddings.weight", [TYPE_VOCAB_SIZE, d], 0.02),
    embeddingNorm: norm("embeddings.LayerNorm"),
    layers,
  };
}
