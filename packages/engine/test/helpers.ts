// Shared test kit: the tiny model with the real in-process sampler, and stream collection.
import { silentLog } from "@llm/log";
import { ensureModel } from "@llm/model-pack";
import { Sampler, type SamplingParams } from "@llm/sampling";
import {
  Engine,
  type EngineOptions,
  engineSizing,
  type FinalEvent,
  type GenerateRequest,
  type GenerationEvent,
  inProcessSampler,
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
