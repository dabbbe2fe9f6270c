// The bytes of every file in a built model folder (Hugging Face ONNX export layout).
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { encodeBertModel } from "./bert-graph.js";
import { generateBertWeights } from "./bert-weights.js";
import { encoderConfigFiles, jsonBytes } from "./encoder-files.js";
import { encodeGpt2Model, LAYER_NORM_EPSILON } from "./gpt2-graph.js";
import { llamaModelFiles } from "./llama-files.js";
import type { ModelPreset, TrainedFiles } from "./presets.js";
import { readSafetensors } from "./safetensors.js";
import {
  byteLevelBpeTokenizerJson,
  END_OF_TEXT,
  gpt2TokenizerConfig,
  gpt2VocabularyData,
  readVocabularyData,
  type VocabularyData,
} from "./tokenizer-files.js";
import { type Gpt2Weights, generateWeights, trainedWeights } from "./weights.js";

/** Trained presets' committed files (`ModelPreset.trained` paths are relative to it). */
export const WEIGHTS_DIR = fileURLToPath(new URL("../weights/", import.meta.url));

export const ONNX_MODEL_PATH = "onnx/model.onnx";
/** Written only for the gqa layout: onnxruntime-genai's config file, whose `search.past_present_share_buffer` says so. */
export const GENAI_CONFIG_PATH = "genai_config.json";

/** Relative path → content, in the order the files are written. */
export type ModelFiles = Map<string, Uint8Array>;

export function modelFiles(preset: ModelPreset): ModelFiles {
  if (preset.llama) return llamaModelFiles(preset);
  const { shape, encoder } = preset;
  if (encoder) {
    const graph = encodeBertModel(generateBertWeights(shape, preset.seed));
    return new Map([...encoderConfigFiles(preset, encoder), [ONNX_MODEL_PATH, graph]]);
  }
  const vocabulary = vocabularyOf(preset);
  // GPT-2's convention, kept by the demo tokenizer: <|endoftext|> is the last id, and serves as BOS, EOS and pad.
  const endOfText = vocabulary.vocab[END_OF_TEXT];
  const layout = preset.layout ?? "standard";
  return new Map([
    ["config.json", jsonBytes(gpt2Config(preset, endOfText))],
    ["generation_config.json", jsonBytes({ bos_token_id: endOfText, eos_token_id: endOfText })],
    ["tokenizer.json", jsonBytes(byteLevelBpeTokenizerJson(vocabulary))],
    ["tokenizer_config.json", jsonBytes(gpt2TokenizerConfig(shape.nPositions))],
    ...(layout === "gqa" ? [[GENAI_CONFIG_PATH, jsonBytes(genaiConfig(preset, endOfText))] as const] : []),
    [ONNX_MODEL_PATH, encodeGpt2Model(weightsOf(preset), layout)],
  ]);
}

/** The preset's weights: read from its committed fp16 file, or generated from its seed. */
export function weightsOf({ shape, seed, trained }: ModelPreset): Gpt2Weights {
  return trained ? trainedWeights(shape, readSafetensors(trainedFiles(trained)[0])) : generateWeights(shape, seed);
}

/** The committed files a trained preset is built from: weights, then the tokenizer's vocab.json and merges.txt. */
export function trainedFiles({ weights, tokenizer }: TrainedFiles): [string, string, string] {
  return [
    join(WEIGHTS_DIR, weights),
    join(WEIGHTS_DIR, tokenizer, "vocab.json"),
    join(WEIGHTS_DIR, tokenizer, "merges.txt"),
  ];
}

function vocabularyOf({ name, shape, trained }: ModelPreset): VocabularyData {
  if (!trained) return gpt2VocabularyData();
  const [, vocabPath, mergesPath] = trainedFiles(trained);
  const vocabulary = readVocabularyData(vocabPath, mergesPath);
  const size = new Set(Object.values(vocabulary.vocab)).size;
  const endOfText = vocabulary.vocab[END_OF_TEXT];
  if (size !== shape.vocabSize || endOfText !== size - 1) {
    throw new Error(
      `${vocabPath} holds ${size} tokens, ${END_OF_TEXT} at id ${endOfText}; ` +
        `preset ${name} needs ${shape.vocabSize} tokens with ${END_OF_TEXT} last`,
    );
  }
  return vocabulary;
}

/**
 * onnxruntime-genai's `genai_config.json` keys for the decoder's names and its cache: `past_present_share_buffer`
 * tells a runtime to bind each present output to its past input's buffer (our engine reads it to pick its KV path).
 */
function genaiConfig({ shape }: ModelPreset, endOfText: number): object {
  return {
    model: {
      type: "gpt2",
      context_length: shape.nPositions,
      vocab_size: shape.vocabSize,
      bos_token_id: endOfText,
      eos_token_id: endOfText,
      pad_token_id: endOfText,
      decoder: {
        filename: ONNX_MODEL_PATH,
        num_hidden_layers: shape.nLayer,
        num_attention_heads: shape.nHead,
        num_key_value_heads: shape.nHead,
        hidden_size: shape.nEmbd,
        head_size: shape.nEmbd / shape.nHead,
        inputs: {
          input_ids: "input_ids",
          attention_mask: "attention_mask",
          position_ids: "position_ids",
          past_key_names: "past_key_values.%d.key",
          past_value_names: "past_key_values.%d.value",
        },
        outputs: { logits: "logits", present_key_names: "present.%d.key", present_value_names: "present.%d.value" },
      },
    },
    search: { max_length: shape.nPositions, past_present_share_buffer: true },
  };
}

/** GPT-2's `config.json`, with the fields transformers.js and our runner read. */
function gpt2Config({ name, shape, seed, layout, trained }: ModelPreset, endOfText: number): object {
  return {
    architectures: ["GPT2LMHeadModel"],
    model_type: "gpt2",
    activation_function: "gelu_new",
    n_layer: shape.nLayer,
    n_head: shape.nHead,
    n_embd: shape.nEmbd,
    n_positions: shape.nPositions,
    n_ctx: shape.nPositions,
    vocab_size: shape.vocabSize,
    bos_token_id: endOfText,
    eos_token_id: endOfText,
    layer_norm_epsilon: LAYER_NORM_EPSILON,
    tie_word_embeddings: true,
    use_cache: true,
    torch_dtype: "float32",
    // Not read by Hugging Face tools: says where this folder came from.
    model_pack: {
      preset: name,
      seed,
      ...(trained ? { trained_weights: trained.weights } : {}),
      ...(layout ? { kv_layout: layout } : {}),
    },
  };
}
