// The bytes of every file in a built model folder (Hugging Face ONNX export layout).
import { encodeGpt2Model, LAYER_NORM_EPSILON } from "./gpt2-graph.js";
import type { ModelPreset } from "./presets.js";
import { END_OF_TEXT_ID, gpt2TokenizerConfig, gpt2TokenizerJson } from "./tokenizer-files.js";
import { generateWeights } from "./weights.js";

export const ONNX_MODEL_PATH = "onnx/model.onnx";
/** Written only for the gqa layout: onnxruntime-genai's config file, whose `search.past_present_share_buffer` says so. */
export const GENAI_CONFIG_PATH = "genai_config.json";

/** Relative path → content, in the order the files are written. */
export type ModelFiles = Map<string, Uint8Array>;

export function modelFiles(preset: ModelPreset): ModelFiles {
  const { shape, seed } = preset;
  const json = (value: object) => new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`);
  const weights = generateWeights(shape, seed);
  const layout = preset.layout ?? "standard";
  return new Map([
    ["config.json", json(gpt2Config(preset))],
    ["generation_config.json", json({ bos_token_id: END_OF_TEXT_ID, eos_token_id: END_OF_TEXT_ID })],
    ["tokenizer.json", json(gpt2TokenizerJson())],
    ["tokenizer_config.json", json(gpt2TokenizerConfig(shape.nPositions))],
    ...(layout === "gqa" ? [[GENAI_CONFIG_PATH, json(genaiConfig(preset))] as const] : []),
    [ONNX_MODEL_PATH, encodeGpt2Model(weights, layout)],
  ]);
}

/**
 * onnxruntime-genai's `genai_config.json` keys for the decoder's names and its cache: `past_present_share_buffer`
 * tells a runtime to bind each present output to its past input's buffer (our engine reads it to pick its KV path).
 */
function genaiConfig({ shape }: ModelPreset): object {
  return {
    model: {
      type: "gpt2",
      context_length: shape.nPositions,
      vocab_size: shape.vocabSize,
      bos_token_id: END_OF_TEXT_ID,
      eos_token_id: END_OF_TEXT_ID,
      pad_token_id: END_OF_TEXT_ID,
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
function gpt2Config({ name, shape, seed, layout }: ModelPreset): object {
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
    bos_token_id: END_OF_TEXT_ID,
    eos_token_id: END_OF_TEXT_ID,
    layer_norm_epsilon: LAYER_NORM_EPSILON,
    tie_word_embeddings: true,
    use_cache: true,
    torch_dtype: "float32",
    // Not read by Hugging Face tools: says where this folder came from.
    model_pack: { preset: name, seed, ...(layout ? { kv_layout: layout } : {}) },
  };
}
