// An embedding model folder (Hugging Face ONNX export layout plus sentence-transformers' files): its ONNX
// session, tokenizer and pooling, checked at load so a model that loads serves. The graph takes input_ids and
// attention_mask (token_type_ids and position_ids when it declares them) and gives last_hidden_state, pooled
// here, or an already pooled sentence_embedding. A decoder exported with its KV inputs (past_key_values.*, as
// Optimum and onnx-community export one) gets an empty past: one forward over the whole input.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { createSession, type ExecutionProvider } from "@llm/engine";
import { LlmError } from "@llm/errors";
import type { Log } from "@llm/log";
import { Tokenizer } from "@llm/tokenizer";
import * as ort from "onnxruntime-node";
import { normalizeInPlace, POOLING_MODES, type PoolingMode, poolRow } from "./pooling.js";

export const ONNX_MODEL_PATH = "onnx/model.onnx";
const SUPPORTED_INPUTS = new Set(["input_ids", "attention_mask", "token_type_ids", "position_ids"]);
const PAST_INPUT = /^past_key_values\.\d+\.(key|value)$/;

/** A decoder's empty past: [batch, KV heads, 0, head dim] of the input's type, per past input. */
interface EmptyPast {
  names: string[];
  kvHeads: number;
  headDim: number;
  type: "float32" | "float16";
}

export interface EncoderInfo {
  id: string;
  /** Width of the pooled vectors. */
  dimensions: number;
  /** Most tokens of one input, special tokens included (the position table, or the tokenizer's limit). */
  maxInputTokens: number;
  pooling: PoolingMode;
  normalize: boolean;
  vocabSize: number;
  /** Whether the model was trained to be shortened (Matryoshka): only then may a request ask for `dimensions`. */
  matryoshka: boolean;
}

export interface EncoderModelOptions {
  providers: readonly ExecutionProvider[];
  intraOpThreads?: number;
  log: Log;
}

export class EncoderModel {
  private constructor(
    readonly info: EncoderInfo,
    readonly tokenizer: Tokenizer,
    private readonly session: ort.InferenceSession,
    /** "sentence_embedding" when the graph pools itself, else "last_hidden_state". */
    private readonly output: string,
    private readonly past: EmptyPast | undefined,
  ) {}

  static async load(id: string, dir: string, options: EncoderModelOptions): Promise<EncoderModel> {
    const config = await readJson(join(dir, "config.json"));
    const tokenizerConfig = ((await readJson(join(dir, "tokenizer_config.json"), false)) ?? {}) as Json;
    const { pooling, normalize } = await poolingOf(dir);
    const tokenizer = await Tokenizer.fromFile(dir);
    const { session } = await createSession(join(dir, ONNX_MODEL_PATH), options);
    const unsupported = session.inputNames.filter((name) => !SUPPORTED_INPUTS.has(name) && !PAST_INPUT.test(name));
    if (unsupported.length > 0 || !session.inputNames.includes("input_ids")) {
      throw new LlmError(
        "failed_precondition",
        `${dir}: an embedding graph takes input_ids, attention_mask and optionally token_type_ids, position_ids ` +
          `and past_key_values.*; this one takes ${session.inputNames.join(", ")}`,
      );
    }
    const output = ["sentence_embedding", "last_hidden_state"].find((name) => session.outputNames.includes(name));
    if (output === undefined) {
      throw new LlmError(
        "failed_precondition",
        `${dir}: the graph has neither a sentence_embedding nor a last_hidden_state output (it has ${session.outputNames.join(", ")})`,
      );
    }
    const dimensions = positiveInt(config.hidden_size ?? config.d_model, `${dir}/config.json hidden_size`);
    const limits = [config.max_position_embeddings, tokenizerConfig.model_max_length].filter(
      (n): n is number => Number.isInteger(n) && (n as number) > 0,
    );
    if (limits.length === 0)
      throw new LlmError("failed_precondition", `${dir}: no max_position_embeddings in config.json`);
    const info = {
      id,
      dimensions,
      maxInputTokens: Math.min(...limits),
      pooling,
      normalize,
      vocabSize: tokenizer.vocabSize,
      matryoshka: await declaresMatryoshka(dir, config),
    };
    return new EncoderModel(info, tokenizer, session, output, emptyPast(dir, session, config));
  }

  /** One pooled (and, if the model says so, normalized) vector per row; rows are token ids with special tokens. */
  async embedBatch(rows: readonly Uint32Array[]): Promise<Float32Array[]> {
    const width = Math.max(...rows.map((row) => row.length));
    const size = rows.length * width;
    const ids = new BigInt64Array(size);
    const mask = new BigInt64Array(size);
    const positions = new BigInt64Array(size);
    rows.forEach((row, b) => {
      for (let i = 0; i < row.length; i++) {
        ids[b * width + i] = BigInt(row[i]);
        mask[b * width + i] = 1n;
        positions[b * width + i] = BigInt(i);
      }
    });
    const dims = [rows.length, width];
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor("int64", ids, dims),
      attention_mask: new ort.Tensor("int64", mask, dims),
      token_type_ids: new ort.Tensor("int64", new BigInt64Array(size), dims),
      position_ids: new ort.Tensor("int64", positions, dims),
    };
    if (this.past) {
      const { kvHeads, headDim, type } = this.past;
      const empty = new ort.Tensor(type, type === "float16" ? new Uint16Array(0) : new Float32Array(0), [
        rows.length,
        kvHeads,
        0,
        headDim,
      ]);
      for (const name of this.past.names) feeds[name] = empty;
    }
    const inputs = Object.fromEntries(this.session.inputNames.map((name) => [name, feeds[name]]));
    const out = (await this.session.run(inputs, [this.output]))[this.output];
    const data = out.data as Float32Array;
    const { dimensions, pooling } = this.info;
    const vectors = rows.map((row, b) =>
      this.output === "sentence_embedding"
        ? data.slice(b * dimensions, (b + 1) * dimensions)
        : poolRow(data, width, dimensions, b, row.length, pooling),
    );
    out.dispose();
    return this.info.normalize ? vectors.map(normalizeInPlace) : vectors;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

/**
 * sentence-transformers' modules.json: a Pooling module's config.json names the mode, a Normalize module
 * asks for unit vectors. Without modules.json: mean pooling, not normalized (the common default).
 */
async function poolingOf(dir: string): Promise<{ pooling: PoolingMode; normalize: boolean }> {
  const modules = await readJson(join(dir, "modules.json"), false);
  if (modules === undefined) return { pooling: "mean", normalize: false };
  if (!Array.isArray(modules)) throw new LlmError("failed_precondition", `${dir}/modules.json is not a list`);
  const typeOf = (m: Json) =>
    String(m?.type ?? "")
      .split(".")
      .pop();
  const poolingModule = (modules as Json[]).find((m) => typeOf(m) === "Pooling");
  const normalize = (modules as Json[]).some((m) => typeOf(m) === "Normalize");
  if (poolingModule === undefined) return { pooling: "mean", normalize };
  const config = await readJson(join(dir, String(poolingModule.path), "config.json"));
  const modes: Record<string, PoolingMode> = {
    pooling_mode_mean_tokens: "mean",
    pooling_mode_cls_token: "cls",
    pooling_mode_max_tokens: "max",
    pooling_mode_lasttoken: "lasttoken",
  };
  const on = Object.keys(config).filter((key) => key.startsWith("pooling_mode_") && config[key] === true);
  if (on.length !== 1 || !(on[0] in modes)) {
    throw new LlmError(
      "failed_precondition",
      `${dir}/${poolingModule.path}/config.json: pooling ${on.join(" + ") || "none"} is not supported ` +
        `(exactly one of ${POOLING_MODES.join(", ")})`,
    );
  }
  return { pooling: modes[on[0]], normalize };
}

/** A decoder graph's past inputs, sized from config.json (num_key_value_heads, head_dim) and typed from the graph. */
function emptyPast(dir: string, session: ort.InferenceSession, config: Json): EmptyPast | undefined {
  const names = session.inputNames.filter((name) => PAST_INPUT.test(name));
  if (names.length === 0) return undefined;
  const heads = positiveInt(config.num_attention_heads, `${dir}/config.json num_attention_heads`);
  const kvHeads =
    config.num_key_value_heads === undefined
      ? heads
      : positiveInt(config.num_key_value_heads, `${dir}/config.json num_key_value_heads`);
  const hidden = positiveInt(config.hidden_size, `${dir}/config.json hidden_size`);
  const headDim =
    config.head_dim === undefined ? hidden / heads : positiveInt(config.head_dim, `${dir}/config.json head_dim`);
  const metadata = session.inputMetadata.find((m) => m.name === names[0]);
  const type = metadata?.isTensor && metadata.type === "float16" ? "float16" : "float32";
  return { names, kvHeads, headDim, type };
}

/**
 * Whether the model declares Matryoshka training: config.json's `matryoshka_dimensions` (jina-embeddings-v3's key),
 * or its model card's front-matter tags `matryoshka` / `loss:MatryoshkaLoss` (what sentence-transformers writes into
 * the card of a model trained with MatryoshkaLoss).
 */
async function declaresMatryoshka(dir: string, config: Json): Promise<boolean> {
  const listed = config.matryoshka_dimensions;
  if (Array.isArray(listed) && listed.length > 0) return true;
  const card = await readFile(join(dir, "README.md"), "utf8").catch(() => "");
  const frontMatter = /^---\r?\n([\s\S]*?)\r?\n---/.exec(card)?.[1] ?? "";
  return /^\s*-\s*["']?(matryoshka|loss:MatryoshkaLoss)["']?\s*$/im.test(frontMatter);
}

function positiveInt(value: unknown, what: string): number {
  if (Number.isInteger(value) && (value as number) > 0) return value as number;
  throw new LlmError("failed_precondition", `${what} is ${JSON.stringify(value)}, not a positive integer`);
}

type Json = Record<string, unknown>;

async function readJson(path: string): Promise<Json>;
async function readJson(path: string, required: false): Promise<unknown>;
async function readJson(path: string, required = true): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if (!required && (err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new LlmError("failed_precondition", `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new LlmError("failed_precondition", `${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}
