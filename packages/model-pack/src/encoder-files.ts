// The configuration files of an encoder (embedding) model folder: Hugging Face's BERT config.json and
// tokenizer, and sentence-transformers' modules.json with its pooling (1_Pooling/config.json) and
// normalization (a Normalize module) steps, which the embedder reads to pool as the model was trained.
import { BERT_SPECIAL_TOKENS, bertTokenizerConfig, bertTokenizerJson, bertVocabulary } from "./bert-tokenizer-files.js";
import { BERT_LAYER_NORM_EPSILON, TYPE_VOCAB_SIZE } from "./bert-weights.js";
import type { EncoderSpec, ModelPreset, PoolingMode } from "./presets.js";

export const MODULES_PATH = "modules.json";
export const POOLING_CONFIG_PATH = "1_Pooling/config.json";

export function jsonBytes(value: object): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`);
}

/** Every file of an encoder preset's folder but the ONNX graph. */
export function encoderConfigFiles(preset: ModelPreset, encoder: EncoderSpec): [string, Uint8Array][] {
  const tokens = bertVocabulary();
  if (tokens.length !== preset.shape.vocabSize) {
    throw new Error(
      `preset ${preset.name} needs ${preset.shape.vocabSize} tokens; the BERT vocabulary has ${tokens.length}`,
    );
  }
  return [
    ["config.json", jsonBytes(bertConfig(preset, tokens.indexOf(BERT_SPECIAL_TOKENS.pad), encoder))],
    ["tokenizer.json", jsonBytes(bertTokenizerJson(tokens))],
    ["tokenizer_config.json", jsonBytes(bertTokenizerConfig(preset.shape.nPositions))],
    ...sentenceTransformersFiles(preset.shape.nEmbd, encoder),
  ];
}

/** sentence-transformers' files: modules.json and the pooling config (what the embedder and its peers read). */
export function sentenceTransformersFiles(width: number, encoder: EncoderSpec): [string, Uint8Array][] {
  return [
    [MODULES_PATH, jsonBytes(sentenceTransformersModules(encoder.normalize))],
    [POOLING_CONFIG_PATH, jsonBytes(poolingConfig(width, encoder.pooling))],
  ];
}

function bertConfig({ name, seed, shape }: ModelPreset, padTokenId: number, encoder: EncoderSpec): object {
  return {
    architectures: ["BertModel"],
    model_type: "bert",
    hidden_size: shape.nEmbd,
    num_hidden_layers: shape.nLayer,
    num_attention_heads: shape.nHead,
    intermediate_size: 4 * shape.nEmbd,
    hidden_act: "gelu",
    max_position_embeddings: shape.nPositions,
    type_vocab_size: TYPE_VOCAB_SIZE,
    vocab_size: shape.vocabSize,
    layer_norm_eps: BERT_LAYER_NORM_EPSILON,
    pad_token_id: padTokenId,
    position_embedding_type: "absolute",
    torch_dtype: "float32",
    ...(encoder.matryoshka ? { matryoshka_dimensions: encoder.matryoshka } : {}),
    // Not read by Hugging Face tools: says where this folder came from.
    model_pack: { preset: name, seed },
  };
}

/** sentence-transformers' module list: the transformer, pooling, then (optionally) L2 normalization. */
function sentenceTransformersModules(normalize: boolean): object[] {
  const modules = [
    { idx: 0, name: "0", path: "", type: "sentence_transformers.models.Transformer" },
    { idx: 1, name: "1", path: "1_Pooling", type: "sentence_transformers.models.Pooling" },
  ];
  if (normalize)
    modules.push({ idx: 2, name: "2", path: "2_Normalize", type: "sentence_transformers.models.Normalize" });
  return modules;
}

function poolingConfig(dimension: number, pooling: PoolingMode): object {
  return {
    word_embedding_dimension: dimension,
    pooling_mode_cls_token: pooling === "cls",
    pooling_mode_mean_tokens: pooling === "mean",
    pooling_mode_max_tokens: pooling === "max",
    pooling_mode_mean_sqrt_len_tokens: false,
    pooling_mode_weightedmean_tokens: false,
    pooling_mode_lasttoken: pooling === "lasttoken",
    include_prompt: true,
  };
}
