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
  /** Absent = a GPT-2 decoder (generation); set = an encoder (embeddings). */
  encoder?: EncoderSpec;
}

export type PresetName = "demo" | "demo-draft" | "tiny" | "gpt2-small" | "embed-tiny";

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
  // demo's draft for speculative decoding: the same tokenizer, about a tenth of its cost per token.
  "demo-draft": {
    name: "demo-draft",
    seed: 20_261_203,
    shape: { ...shape(1, 2, 96), nPositions: DEMO_CONTEXT, vocabSize: DEMO_VOCAB_SIZE },
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
    encoder: { pooling: "mean", normalize: true },
  },
};

/** The embedding model `npm start` serves unless told otherwise. */
export const DEFAULT_EMBEDDING_PRESET: PresetName = "embed-tiny";

export const DEFAULT_PRESET: PresetName = "demo";

function shape(nLayer: number, nHead: number, nEmbd: number): ModelShape {
  return { nLayer, nHead, nEmbd, nPositions: 1024, vocabSize: GPT2_VOCAB_SIZE };
}

export function headDim(shape: ModelShape): number {
  return shape.nEmbd / shape.nHead;
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
