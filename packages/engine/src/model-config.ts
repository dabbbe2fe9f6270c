// The shape facts the engine needs, read from a Hugging Face export folder: `config.json` (GPT-2 names first,
// then the generic ones; a multimodal export's `text_config` is the decoder's), `generation_config.json` and
// the tokenizer (end-of-sequence ids, and how many ids the tokenizer really has).
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, join } from "node:path";

export type KvDtype = "float32" | "float16";

export interface RopeSettings {
  theta: number;
  /** config.json's `rope_scaling` as written (Llama 3's `rope_type: "llama3"`, …); applied inside the graph. */
  scaling?: Record<string, unknown>;
}

export interface ModelConfig {
  /** The folder's name: identifies the model in prefix-cache keys and in `info()`. */
  modelId: string;
  numLayers: number;
  /** Query heads. */
  numHeads: number;
  /** Key/value heads: the KV cache's heads (fewer than `numHeads` with grouped-query attention). */
  numKvHeads: number;
  /** `head_dim` when given (Gemma, Qwen 3 may differ from hidden / heads), else hidden / heads. */
  headDim: number;
  /** Rows of the logits: the model's vocabulary, padding ids included. */
  vocabSize: number;
  /** Ids the tokenizer can decode, [0, tokenizerVocabSize); the model's ids above are never sampled. */
  tokenizerVocabSize: number;
  contextLength: number;
  eosTokenIds: number[];
  rope?: RopeSettings;
  /** Recorded for `info()`: the standard layout's cache still holds every position (Optimum's exports do too). */
  slidingWindow?: number;
}

type RawConfig = Record<string, unknown>;

export async function readModelConfig(modelDir: string): Promise<ModelConfig> {
  const path = join(modelDir, "config.json");
  const outer = (await readJson(path)) as RawConfig;
  // Multimodal exports (Gemma 3, …) nest the decoder's settings; the outer object holds the rest.
  const raw = isObject(outer.text_config) ? { ...outer, ...outer.text_config } : outer;
  const numHeads = requireInt(raw, path, "n_head", "num_attention_heads");
  const hidden = requireInt(raw, path, "n_embd", "hidden_size");
  const numKvHeads = optionalInt(raw, path, "num_key_value_heads") ?? numHeads;
  if (numHeads % numKvHeads !== 0) {
    throw new Error(`${path}: num_attention_heads ${numHeads} is not a multiple of num_key_value_heads ${numKvHeads}`);
  }
  const explicitHeadDim = optionalInt(raw, path, "head_dim");
  if (explicitHeadDim === undefined && hidden % numHeads !== 0) {
    throw new Error(`${path}: hidden size ${hidden} is not divisible by ${numHeads} heads and there is no head_dim`);
  }
  const vocabSize = requireInt(raw, path, "vocab_size");
  const tokenizer = await readTokenizerFacts(modelDir);
  if (tokenizer.vocabSize > vocabSize) {
    throw new Error(
      `${path}: vocab_size ${vocabSize} is smaller than the tokenizer's ${tokenizer.vocabSize} ids (tokenizer.json)`,
    );
  }
  const generation = await readOptionalJson(join(modelDir, "generation_config.json"));
  const eos = new Set([...idsOf(raw.eos_token_id), ...idsOf(generation?.eos_token_id), ...tokenizer.eosIds]);
  const theta = raw.rope_theta;
  return {
    modelId: basename(modelDir),
    numLayers: requireInt(raw, path, "n_layer", "num_hidden_layers"),
    numHeads,
    numKvHeads,
    headDim: explicitHeadDim ?? hidden / numHeads,
    vocabSize,
    tokenizerVocabSize: tokenizer.vocabSize || vocabSize,
    contextLength: requireInt(raw, path, "n_positions", "max_position_embeddings"),
    eosTokenIds: [...eos],
    ...(typeof theta === "number"
      ? { rope: { theta, ...(isObject(raw.rope_scaling) ? { scaling: raw.rope_scaling } : {}) } }
      : {}),
    ...(Number.isInteger(raw.sliding_window) ? { slidingWindow: raw.sliding_window as number } : {}),
  };
}

interface TokenizerFacts {
  /** 1 + the largest id tokenizer.json defines (0 without the file). */
  vocabSize: number;
  /** tokenizer_config.json's eos_token, as an id. */
  eosIds: number[];
}

/** What the engine needs from the tokenizer files, when the folder has them (the runner does not require them). */
async function readTokenizerFacts(modelDir: string): Promise<TokenizerFacts> {
  const tokenizer = await readOptionalJson(join(modelDir, "tokenizer.json"));
  if (!tokenizer) return { vocabSize: 0, eosIds: [] };
  const model = isObject(tokenizer.model) ? tokenizer.model : {};
  const added = Array.isArray(tokenizer.added_tokens) ? (tokenizer.added_tokens as RawConfig[]) : [];
  const idOf = new Map<string, number>(added.map((token) => [String(token.content), Number(token.id)]));
  // BPE/WordPiece vocabularies are token → id objects; Unigram's is a list of [piece, score] pairs.
  const vocab = model.vocab;
  let largest = Array.isArray(vocab) ? vocab.length - 1 : -1;
  if (isObject(vocab)) for (const id of Object.values(vocab)) largest = Math.max(largest, Number(id));
  for (const id of idOf.values()) largest = Math.max(largest, id);
  const config = await readOptionalJson(join(modelDir, "tokenizer_config.json"));
  const eos = config?.eos_token;
  const eosText = typeof eos === "string" ? eos : isObject(eos) ? String(eos.content) : undefined;
  const eosId =
    eosText === undefined ? undefined : (idOf.get(eosText) ?? (isObject(vocab) ? vocab[eosText] : undefined));
  return { vocabSize: largest + 1, eosIds: typeof eosId === "number" ? [eosId] : [] };
}

async function readJson(path: string): Promise<unknown> {
  const text = await readFile(path, "utf8");
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${path} is not valid JSON: ${error instanceof Error ? error.message : error}`);
  }
}

async function readOptionalJson(path: string): Promise<RawConfig | undefined> {
  return existsSync(path) ? ((await readJson(path)) as RawConfig) : undefined;
}

function isObject(value: unknown): value is RawConfig {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function idsOf(value: unknown): number[] {
  if (Array.isArray(value)) return value.map(Number);
  return typeof value === "number" ? [value] : [];
}

function optionalInt(raw: RawConfig, path: string, name: string): number | undefined {
  const value = raw[name];
  if (value === undefined || value === null) return undefined;
  if (Number.isInteger(value) && (value as number) > 0) return value as number;
  throw new Error(`${path}: ${name} must be a positive integer, got ${JSON.stringify(value)}`);
}

function requireInt(raw: RawConfig, path: string, ...names: string[]): number {
  for (const name of names) {
    const value = raw[name];
    if (Number.isInteger(value) && (value as number) > 0) return value as number;
  }
  throw new Error(`${path}: missing a positive integer ${names.join(" or ")}`);
}

export const BYTES_PER_VALUE: Record<KvDtype, number> = { float32: 4, float16: 2 };

/** Bytes of K and V for one token across all layers, in the cache's dtype. */
export function kvBytesPerToken(config: ModelConfig, dtype: KvDtype = "float32"): number {
  return config.numLayers * 2 * config.numKvHeads * config.headDim * BYTES_PER_VALUE[dtype];
}
