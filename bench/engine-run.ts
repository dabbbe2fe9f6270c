// One engine run over a batch of prompts submitted together, greedy, every sequence to its full length: the
// engine side of the raw-loop comparisons (bench/engine-raw.ts, bench/gpu/).
import type { Engine } from "@llm/engine";
import type { SamplingParams } from "@llm/sampling";

export interface EngineRun {
  /** From submitting to the last sequence's first token. */
  prefillMs: number;
  /** Median gap between a sequence's tokens. */
  stepMsP50: number;
  decodeTokensPerSecond: number;
  /** Each prompt's generated ids. */
  tokens: number[][];
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function engineGreedyRun(
  engine: Engine<SamplingParams>,
  prompts: number[][],
  newTokens: number,
  tag: string,
): Promise<EngineRun> {
  const started = performance.now();
  const itl: number[] = [];
  const firstTokenAt: number[] = [];
  const tokens = await Promise.all(
    prompts.map(async (promptIds, b) => {
      const ids: number[] = [];
      for await (const e of engine.submit({
        requestId: `${tag}-${b}`,
        promptIds,
        maxTokens: newTokens,
        sampling: { temperature: 0 },
        ignoreEos: true,
      })) {
        if (e.type === "final" && e.error) throw e.error;
        if (e.type !== "token") continue;
        ids.push(e.tokenId);
        if (e.index === 0) firstTokenAt.push(performance.now());
        else itl.push(e.timing.sincePreviousMs);
      }
      return ids;
    }),
  );
  const end = performance.now();
  const decodeStarted = Math.max(...firstTokenAt);
  return {
    prefillMs: decodeStarted - started,
    stepMsP50: median(itl),
    decodeTokensPerSecond: (prompts.length * (newTokens - 1) * 1000) / (end - decodeStarted),
    tokens,
  };
}
