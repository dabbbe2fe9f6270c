// The shape facts the engine needs, read from a Hugging Face `config.json` (GPT-2 names first, with the
// generic names other exports use as fallbacks).
import { readFile } from "node:fs/promises";
import { basename, join } from "node:path";

export interface ModelConfig {
  /** The folder's name: identifies the model in prefix-cache keys and in `info()`. */
  modelId: string;
  numLayers: number;
  numHeads: number;
  headDim: number;
  vocabSize: number;
  contextLength: number;
  eosTokenIds: number[];
}

type RawConfig = Record<string, unknown>;

export async function readModelConfig(modelDir: string): Promise<ModelConfig> {
  const path = join(modelDir, "config.json");
  const raw = JSON.parse(await readFile(path, "utf8")) as RawConfig;
  const numHeads = requireInt(raw, path, "n_head", "num_attention_heads");
  const hidden = requireInt(raw, path, "n_embd", "hidden_size");
  if (hidden % numHeads !== 0) throw new Error(`${path}: hidden size ${hidden} is not divisible by ${numHeads} heads`);
  const eos = raw.eos_token_id;
  return {
    modelId: basename(modelDir),
    numLayers: requireInt(raw, path, "n_layer", "num_hidden_layers"),
    numHeads,
    headDim: hidden / numHeads,
    vocabSize: requireInt(raw, path, "vocab_size"),
    contextLength: requireInt(raw, path, "n_positions", "max_position_embeddings"),
    eosTokenIds: Array.isArray(eos) ? eos.map(Number) : typeof eos === "number" ? [eos] : [],
  };
}

function requireInt(raw: RawConfig, path: string, ...names: string[]): number {
  for (const name of names) {
    const value = raw[name];
    if (Number.isInteger(value) && (value as number) > 0) return value as number;
  }
  throw new Error(`${path}: missing a positive integer ${names.join(" or ")}`);
}

/** Bytes of K and V for one token across all layers (float32). */
export function kvBytesPerToken(config: ModelConfig): number {
  return config.numLayers * 2 * config.numHeads * config.headDim * 4;
}
