// Shared test kit: the tiny model with the real in-process sampler, and stream collection.
import { silentLog } from "@llm/log";
import { ensureModel } from "@llm/model-pack";
import { fromFloat16 } from "@llm/prefix-cache";
import { Sampler, type SamplingParams } from "@llm/sampling";
import * as ort from "onnxruntime-node";
import {
  Engine,
  type EngineOptions,
  engineSizing,
  type FinalEvent,
  type GenerateRequest,
  type GenerationEvent,
  inProcessSampler,
  readModelConfig,
  type TokenEvent,
} from "../src/index.js";

export const GREEDY: SamplingParams = { temperature: 0 };

export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** `tiny` (the standard KV layout), or its variant with the same weights and the append layout's KV cache. */
export type TinyPreset = "tiny" | "tiny-append";

export async function tinyModelDir(preset: TinyPreset = "tiny"): Promise<string> {
  return (await ensureModel(preset)).dir;
}

export async function tinyEngine(
  options: Partial<EngineOptions<SamplingParams>> = {},
  preset: TinyPreset = "tiny",
): Promise<Engine<SamplingParams>> {
  const sampler = inProcessSampler(new Sampler({ vocabSize: 50_257 }));
  return Engine.load({
    ...engineSizing({ LLM_EXECUTION_PROVIDERS: "cpu" }),
    modelDir: await tinyModelDir(preset),
    sampler,
    log: silentLog,
    ...options,
  });
}

/**
 * An engine on a model folder and ONNX file (`modelFile`: a dtype name or a file under onnx/), sampling over the
 * model's vocabulary with the real in-process sampler unless `sampler` is given.
 */
export async function folderEngine(
  dir: string,
  options: Partial<EngineOptions<SamplingParams>> = {},
  sampler?: EngineOptions<SamplingParams>["sampler"],
): Promise<Engine<SamplingParams>> {
  const { vocabSize } = await readModelConfig(dir);
  return Engine.load({
    ...engineSizing({ LLM_EXECUTION_PROVIDERS: "cpu" }),
    modelDir: dir,
    sampler: sampler ?? inProcessSampler(new Sampler({ vocabSize })),
    log: silentLog,
    ...options,
  });
}

/** `folderEngine` on a preset's built folder. */
export async function presetEngine(
  preset: string,
  options: Partial<EngineOptions<SamplingParams>> = {},
): Promise<Engine<SamplingParams>> {
  return folderEngine((await ensureModel(preset)).dir, options);
}

/** A request that ignores EOS, so its length is exactly maxTokens. */
export function request(
  id: string,
  prompt: number[],
  maxTokens: number,
  sampling: SamplingParams = GREEDY,
): GenerateRequest<SamplingParams> {
  return { requestId: id, promptIds: prompt, maxTokens, sampling, ignoreEos: true };
}

export interface Collected {
  tokens: number[];
  events: TokenEvent[];
  final: FinalEvent;
}

export async function collect(
  stream: AsyncIterable<GenerationEvent>,
  onToken?: (e: TokenEvent) => void,
): Promise<Collected> {
  const events: TokenEvent[] = [];
  for await (const event of stream) {
    if (event.type === "final") return { tokens: events.map((e) => e.tokenId), events, final: event };
    events.push(event);
    onToken?.(event);
  }
  throw new Error("stream ended without a final event");
}

/** Deterministic pseudo-random prompt ids. */
export function promptOf(length: number, salt: number): number[] {
  return Array.from({ length }, (_, i) => (i * 7919 + salt * 104_729 + 13) % 50_000);
}

/**
 * Greedy generation recomputing the whole sequence every step with raw ORT on a standard-layout file (no KV cache
 * at all): the reference the engine's cached paths are compared with. Feeds only the inputs the graph declares.
 */
export async function fullRecompute(
  modelFile: string,
  cache: { kvHeads: number; headDim: number; dtype: "float32" | "float16" },
  prompt: number[],
  steps: number,
): Promise<number[]> {
  const session = await ort.InferenceSession.create(modelFile);
  const ids = [...prompt];
  for (let s = 0; s < steps; s++) {
    const n = ids.length;
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor("int64", BigInt64Array.from(ids, BigInt), [1, n]),
      attention_mask: new ort.Tensor("int64", new BigInt64Array(n).fill(1n), [1, n]),
      position_ids: new ort.Tensor("int64", BigInt64Array.from(ids.keys(), BigInt), [1, n]),
    };
    if (session.inputNames.includes("num_logits_to_keep")) {
      feeds.num_logits_to_keep = new ort.Tensor("int64", new BigInt64Array([1n]), []);
    }
    for (const name of session.inputNames.filter((input) => input.startsWith("past_key_values."))) {
      const empty = cache.dtype === "float16" ? new Uint16Array(0) : new Float32Array(0);
      feeds[name] = new ort.Tensor(cache.dtype, empty, [1, cache.kvHeads, 0, cache.headDim]);
    }
    const { logits } = await session.run(feeds);
    const values = cache.dtype === "float16" ? fromFloat16(logits.data as Uint16Array) : (logits.data as Float32Array);
    ids.push(argmax(values.subarray(values.length - logits.dims[2])));
  }
  await session.release();
  return ids.slice(prompt.length);
}
