// Shared by this package's tests: one tiny model folder per run, and thin wrappers over real ORT sessions.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-node";
import { get_encoding } from "tiktoken";
import {
  type BuiltModel,
  ensureModel,
  headDim,
  type ModelShape,
  ONNX_MODEL_PATH,
  PRESETS,
  pastKeyName,
  pastValueName,
  presentKeyName,
  presentValueName,
} from "../src/index.js";

export const TINY = PRESETS.tiny;
const PAD_ID = 50256;

/** The tiny model in a gitignored cache folder; concurrent test files share it (builds land atomically). */
export function tinyModel(): Promise<BuiltModel> {
  return ensureModel("tiny", fileURLToPath(new URL("../../../.cache/model-pack-test/tiny", import.meta.url)));
}

export function openSession(modelDir: string): Promise<ort.InferenceSession> {
  // One thread: the test machine's two cores are shared with other suites.
  return ort.InferenceSession.create(join(modelDir, ONNX_MODEL_PATH), { intraOpNumThreads: 1, interOpNumThreads: 1 });
}

export interface Batch {
  inputIds: number[][];
  attentionMask: number[][];
  positionIds: number[][];
}

export type OrtCache = Record<string, ort.Tensor>;

export interface OrtResult {
  logits: Float32Array;
  dims: readonly number[];
  /** The present.* outputs renamed as the next step's past_key_values.* inputs. */
  cache: OrtCache;
}

/** Prompts of different lengths as one left-padded batch, with positions counted from each first real token. */
export function leftPadded(prompts: number[][]): Batch {
  const width = Math.max(...prompts.map((p) => p.length));
  const pad = (p: number[]) => width - p.length;
  return {
    inputIds: prompts.map((p) => [...Array(pad(p)).fill(PAD_ID), ...p]),
    attentionMask: prompts.map((p) => [...Array(pad(p)).fill(0), ...p.map(() => 1)]),
    positionIds: prompts.map((p) => [...Array(pad(p)).fill(0), ...p.map((_, i) => i)]),
  };
}

export function emptyCache(shape: ModelShape, batch: number): OrtCache {
  const dims = [batch, shape.nHead, 0, headDim(shape)];
  const cache: OrtCache = {};
  for (let i = 0; i < shape.nLayer; i++) {
    cache[pastKeyName(i)] = new ort.Tensor("float32", new Float32Array(0), dims);
    cache[pastValueName(i)] = new ort.Tensor("float32", new Float32Array(0), dims);
  }
  return cache;
}

export async function runOrt(
  session: ort.InferenceSession,
  shape: ModelShape,
  batch: Batch,
  past: OrtCache,
  numLogitsToKeep: number,
): Promise<OrtResult> {
  const int64 = (rows: number[][]) =>
    new ort.Tensor("int64", BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0].length]);
  const out = await session.run({
    input_ids: int64(batch.inputIds),
    attention_mask: int64(batch.attentionMask),
    position_ids: int64(batch.positionIds),
    num_logits_to_keep: new ort.Tensor("int64", BigInt64Array.of(BigInt(numLogitsToKeep)), []),
    ...past,
  });
  const cache: OrtCache = {};
  for (let i = 0; i < shape.nLayer; i++) {
    cache[pastKeyName(i)] = out[presentKeyName(i)];
    cache[pastValueName(i)] = out[presentValueName(i)];
  }
  return { logits: out.logits.data as Float32Array, dims: out.logits.dims, cache };
}

/** Greedy decoding of one prompt with the KV cache: a prefill, then one token per step. */
export async function greedyCached(
  session: ort.InferenceSession,
  shape: ModelShape,
  prompt: number[],
  steps: number,
): Promise<{ tokens: number[]; stepLogits: Float32Array[] }> {
  const tokens: number[] = [];
  const stepLogits: Float32Array[] = [];
  let result = await runOrt(session, shape, leftPadded([prompt]), emptyCache(shape, 1), 1);
  for (let step = 0; step < steps; step++) {
    stepLogits.push(result.logits);
    tokens.push(argmax(result.logits));
    if (step === steps - 1) break;
    const position = prompt.length + step;
    const next: Batch = {
      inputIds: [[tokens[step]]],
      attentionMask: [Array(position + 1).fill(1)],
      positionIds: [[position]],
    };
    result = await runOrt(session, shape, next, result.cache, 1);
  }
  return { tokens, stepLogits };
}

export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

/** Row `row` of a [rows, vocab] block of logits. */
export function logitsRow<T extends Float32Array | Float64Array>(logits: T, vocab: number, row: number): T {
  return logits.subarray(row * vocab, (row + 1) * vocab) as T;
}

/** GPT-2 token ids from tiktoken, an implementation independent of this package. */
export function gpt2Encode(text: string): number[] {
  const encoding = get_encoding("gpt2");
  try {
    return Array.from(encoding.encode_ordinary(text));
  } finally {
    encoding.free();
  }
}

export async function sha256(path: string): Promise<string> {
  return createHash("sha256")
    .update(await readFile(path))
    .digest("hex");
}
