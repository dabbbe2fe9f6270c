// Shared test kit: the tiny model, a stand-in sampler and stream collection.
// TEMPORARY: the sampler below stands in for @llm/sampling until that package exports its batch API.
import { LlmError } from "@llm/errors";
import { ensureModel } from "@llm/model-pack";
import {
  Engine,
  type EngineOptions,
  type FinalEvent,
  type GenerationEvent,
  type Sampler,
  type TokenEvent,
} from "../src/index.js";

export interface TestParams {
  /** 0 (default) = greedy. */
  temperature?: number;
  seed?: number;
}

/** Greedy argmax, or seeded softmax sampling (mulberry32 per sequence) when temperature > 0. */
export function testSampler(): Sampler<TestParams> & { openCount: () => number } {
  const sequences = new Map<string, { temperature: number; next: () => number }>();
  return {
    open(seqId, params) {
      const temperature = params.temperature ?? 0;
      if (!(temperature >= 0 && temperature <= 2)) {
        throw new LlmError("invalid_argument", `temperature must be in [0, 2], got ${temperature}`);
      }
      sequences.set(seqId, { temperature, next: mulberry32(params.seed ?? 0) });
    },
    close(seqId) {
      sequences.delete(seqId);
    },
    openCount: () => sequences.size,
    sample(batch) {
      return batch.map(({ seqId, logits }) => {
        const seq = sequences.get(seqId);
        if (seq === undefined) return { error: new Error(`sequence ${seqId} was never opened`) };
        const best = argmax(logits);
        if (seq.temperature === 0) return { tokenId: best, logprob: 0 };
        let total = 0;
        const weights = new Float64Array(logits.length);
        for (let i = 0; i < logits.length; i++) {
          weights[i] = Math.exp((logits[i] - logits[best]) / seq.temperature);
          total += weights[i];
        }
        let draw = seq.next() * total;
        for (let i = 0; i < weights.length; i++) {
          draw -= weights[i];
          if (draw <= 0) return { tokenId: i, logprob: Math.log(weights[i] / total) };
        }
        return { tokenId: best, logprob: Math.log(weights[best] / total) };
      });
    },
  };
}

export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function tinyModelDir(): Promise<string> {
  return (await ensureModel("tiny")).dir;
}

export async function tinyEngine(options: Partial<EngineOptions<TestParams>> = {}): Promise<Engine<TestParams>> {
  const quiet = { info: () => {}, warn: () => {} };
  return Engine.load({ modelDir: await tinyModelDir(), sampler: testSampler(), logger: quiet, ...options });
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
