// Shared test kit: the reference engine in this process, stream collection, and error expectations.

import { Engine, engineSizing, type GenerationEvent, inProcessSampler } from "@llm/engine";
import { isLlmError } from "@llm/errors";
import { silentLog } from "@llm/log";
import { ensureModel } from "@llm/model-pack";
import type {
  MessageInitShape,
  ModelRunnerServiceGenerateResponse,
  RunnerFinal,
  SamplingParamsSchema,
  TokenEvent,
} from "@llm/proto";
import { createStrategyRegistry, Sampler, type SamplingParams } from "@llm/sampling";
import { expect } from "vitest";

export type SamplingInit = MessageInitShape<typeof SamplingParamsSchema>;

export const GREEDY: SamplingInit = { temperature: 0 };
export const RUNNER = "services/model-runner/src/main.ts";
export const SAMPLER = "services/sampler/src/main.ts";
/** The sampler service's example plugin, named as an operator names a packaged plugin in LLM_SAMPLER_PLUGINS. */
export const TYPICAL_PLUGIN = "@llm/sampler-service/plugins/typical";

export async function tinyModelDir(): Promise<string> {
  return (await ensureModel("tiny")).dir;
}

/** Deterministic pseudo-random prompt ids. */
export function promptOf(length: number, salt: number): number[] {
  return Array.from({ length }, (_, i) => (i * 7919 + salt * 104_729 + 13) % 50_000);
}

export interface Generation {
  tokens: TokenEvent[];
  ids: number[];
  final: RunnerFinal;
}

export async function collect(
  stream: AsyncIterable<ModelRunnerServiceGenerateResponse>,
  onToken?: (token: TokenEvent) => void,
): Promise<Generation> {
  const tokens: TokenEvent[] = [];
  for await (const { event } of stream) {
    if (event.case === "token") {
      tokens.push(event.value);
      onToken?.(event.value);
    } else if (event.case === "final") {
      return { tokens, ids: tokens.map((t) => t.tokenId), final: event.value };
    }
  }
  throw new Error("the runner's stream ended without a final event");
}

/** The engine with the in-process sampler (built-ins plus the example plugin): the reference for token ids. */
export async function referenceEngine(): Promise<Engine<SamplingParams>> {
  const registry = createStrategyRegistry();
  // The plugin through the sampler service's package exports, not a path into its folder.
  const plugin = await import("@llm/sampler-service/plugins/typical");
  plugin.register(registry);
  return Engine.load({
    modelDir: await tinyModelDir(),
    sampler: inProcessSampler(new Sampler({ vocabSize: 50_257, registry })),
    ...engineSizing({ LLM_EXECUTION_PROVIDERS: "cpu" }),
    log: silentLog,
  });
}

export async function referenceIds(
  engine: Engine<SamplingParams>,
  promptIds: number[],
  maxTokens: number,
  sampling: SamplingParams,
): Promise<number[]> {
  const ids: number[] = [];
  const requestId = `reference-${Math.random()}`;
  for await (const event of engine.submit({ requestId, promptIds, maxTokens, sampling, ignoreEos: true })) {
    if (event.type === "token") ids.push(event.tokenId);
    else if (event.finishReason === "error") throw (event as Extract<GenerationEvent, { type: "final" }>).error;
  }
  return ids;
}

/** Awaits `promise` and checks it failed with `code` and a message matching `pattern`. */
export async function expectFailure(promise: Promise<unknown>, code: string, pattern: RegExp): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(isLlmError(error), `expected an LlmError ${code}, got ${String(error)}`).toBe(true);
  expect((error as { code: string }).code).toBe(code);
  expect((error as Error).message).toMatch(pattern);
}

/** Polls `check` until it returns true, or fails after `timeoutMs`. */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
