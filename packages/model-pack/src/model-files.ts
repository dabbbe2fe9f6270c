// The bytes of every file in a built model folder (Hugging Face ONNX export layout).
import { encodeGpt2Model, LAYER_NORM_EPSILON } from "./gpt2-graph.js";
import type { ModelPreset } from "./presets.js";
import { END_OF_TEXT_ID, gpt2TokenizerConfig, gpt2TokenizerJson } from "./tokenizer-files.js";
import { generateWeights } from "./weights.js";

export const ONNX_MODEL_PATH = "onnx/model.onnx";

/** Relative path → content, in the order the files are written. */
export type ModelFiles = Map<string, Uint8Array>;

export function modelFiles(preset: ModelPreset): ModelFiles {
  const { shape, seed } = preset;
  const json = (value: object) => new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`);
  const weights = generateWeights(shape, seed);
  return new Map([
    ["config.json", json(gpt2Config(preset))],
    ["generation_config.json", json({ bos_token_id: END_OF_TEXT_ID, eos_token_id: END_OF_TEXT_ID })],
    ["tokenizer.json", json(gpt2TokenizerJson())],
    ["tokenizer_config.json", json(gpt2TokenizerConfig(shape.nPositions))],
    [ONNX_MODEL_PATH, encodeGpt2Model(weights)],
  ]);
}

/** GPT-2's `config.json`, with the fields transformers.js and our runner read. */
function gpt2Config({ name, shape, seed }: ModelPreset): object {
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
    model_pack: { preset: name, seed },
  };
}
