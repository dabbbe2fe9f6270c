// Seeded random weights of a Llama-architecture preset, named as Hugging Face names them, stored [in, out] for
// the graph's MatMuls (Hugging Face's Linear stores [out, in]; the reference reads the same arrays). Drawn like
// the GPT-2 presets' (weights.ts): one PRNG stream per tensor name, so the bytes depend on the preset only.
import { headDim, type LlamaSettings, type ModelPreset, type ModelShape } from "./presets.js";
import { uniformTensor, type WeightTensor } from "./weights.js";

export interface LlamaLayerWeights {
  inputNorm: WeightTensor;
  /** [nEmbd, nHead * headDim] */
  q: WeightTensor;
  /** [nEmbd, nKvHead * headDim] */
  k: WeightTensor;
  v: WeightTensor;
  /** [nHead * headDim, nEmbd] */
  o: WeightTensor;
  postAttentionNorm: WeightTensor;
  /** [nEmbd, intermediate] */
  gate: WeightTensor;
  up: WeightTensor;
  /** [intermediate, nEmbd] */
  down: WeightTensor;
}

export interface LlamaWeights {
  shape: ModelShape;
  llama: LlamaSettings;
  /** Ids the tokenizer has: embedding (and head) rows from here on are zero, as in a padded vocabulary. */
  tokenizerVocabSize: number;
  /** [vocabSize, nEmbd] */
  embed: WeightTensor;
  layers: LlamaLayerWeights[];
  norm: WeightTensor;
  /** [vocabSize, nEmbd] (the embedding's layout); the embedding itself when the head is tied. */
  head: WeightTensor;
}

export const RMS_NORM_EPSILON = 1e-5;
const TOKEN_EMBEDDING_STD = 0.02;
/** Target standard deviation of the logits over the vocabulary (see weights.ts). */
const LOGIT_SPREAD = 2;

export function generateLlamaWeights(preset: ModelPreset, tokenizerVocabSize: number): LlamaWeights {
  const { shape, seed, llama } = preset;
  if (!llama) throw new Error(`preset ${preset.name} is not a Llama-architecture preset`);
  const d = shape.nEmbd;
  const hd = headDim(shape, llama);
  const tensor = (name: string, dims: number[], std: number, center = 0): WeightTensor => ({
    name,
    dims,
    data: uniformTensor(seed, name, dims, std, center),
  });
  const table = (name: string) => {
    const t = tensor(name, [shape.vocabSize, d], TOKEN_EMBEDDING_STD);
    t.data.fill(0, tokenizerVocabSize * d);
    return t;
  };
  const layers = Array.from({ length: shape.nLayer }, (_, i): LlamaLayerWeights => {
    const p = `model.layers.${i}`;
    return {
      inputNorm: tensor(`${p}.input_layernorm.weight`, [d], 0.1, 1),
      q: tensor(`${p}.self_attn.q_proj.weight`, [d, shape.nHead * hd], 1 / Math.sqrt(d)),
      k: tensor(`${p}.self_attn.k_proj.weight`, [d, llama.nKvHead * hd], 1 / Math.sqrt(d)),
      v: tensor(`${p}.self_attn.v_proj.weight`, [d, llama.nKvHead * hd], 1 / Math.sqrt(d)),
      o: tensor(`${p}.self_attn.o_proj.weight`, [shape.nHead * hd, d], 1 / Math.sqrt(shape.nHead * hd)),
      postAttentionNorm: tensor(`${p}.post_attention_layernorm.weight`, [d], 0.1, 1),
      gate: tensor(`${p}.mlp.gate_proj.weight`, [d, llama.intermediate], 1 / Math.sqrt(d)),
      up: tensor(`${p}.mlp.up_proj.weight`, [d, llama.intermediate], 1 / Math.sqrt(d)),
      down: tensor(`${p}.mlp.down_proj.weight`, [llama.intermediate, d], 1 / Math.sqrt(llama.intermediate)),
    };
  });
  const embed = table("model.embed_tokens.weight");
  // The final norm's gain sets the logits' spread: rms-1 rows times rows of std 0.02.
  const logitGain = LOGIT_SPREAD / (Math.sqrt(d) * TOKEN_EMBEDDING_STD);
  return {
    shape,
    llama,
    tokenizerVocabSize,
    embed,
    layers,
    norm: tensor("model.norm.weight", [d], 0.1 * logitGain, logitGain),
    head: llama.tiedHead ? embed : table("lm_head.weight"),
  };
}

/** RoPE's inverse frequencies (float64), Llama 3's scaling applied when set (transformers' `_compute_llama3_parameters`). */
export function ropeInverseFrequencies(hd: number, llama: LlamaSettings): Float64Array {
  const inv = Float64Array.from({ length: hd / 2 }, (_, i) => 1 / llama.ropeTheta ** ((2 * i) / hd));
  const scaling = llama.ropeScaling;
  if (!scaling) return inv;
  const lowWavelen = scaling.originalMaxPositions / scaling.lowFreqFactor;
  const highWavelen = scaling.originalMaxPositions / scaling.highFreqFactor;
  return inv.map((freq) => {
    const wavelen = (2 * Math.PI) / freq;
    if (wavelen < highWavelen) return freq;
    if (wavelen > lowWavelen) return freq / scaling.factor;
    const smooth =
      (scaling.originalMaxPositions / wavelen - scaling.lowFreqFactor) /
      (scaling.highFreqFactor - scaling.lowFreqFactor);
    return (1 - smooth) * (freq / scaling.factor) + smooth * freq;
  });
}
