// Speed on one provider: the raw ORT decode step (KV through the host, and, on WebGPU, kept in GPU buffers),
// the engine's decode tokens/s at a batch size, and time to first token for a long prompt.
import type { ExecutionProvider } from "@llm/engine";
import { engineGreedyRun, median } from "../engine-run.js";
import { openRawModel, rawGreedy } from "../raw-loop.js";
import { type CheckModel, loadEngine, prompts } from "./models.js";

const PROMPT = 64;

export interface RawSpeed {
  batch: number;
  kvOnDevice: boolean;
  stepMsP50: number;
  decodeTokensPerSecond: number;
}

export async function rawSpeed(
  model: CheckModel,
  provider: ExecutionProvider,
  batch: number,
  newTokens: number,
  kvOnDevice = false,
): Promise<RawSpeed> {
  const raw = await openRawModel(model.dir, { provider, kvOnDevice });
  try {
    const inputs = prompts(batch, PROMPT, model.vocabSize);
    await rawGreedy(raw, inputs, 4); // warm-up: kernels compiled, buffers sized
    const run = await rawGreedy(raw, inputs, newTokens);
    return {
      batch,
      kvOnDevice,
      stepMsP50: median(run.stepMs),
      decodeTokensPerSecond: (batch * (newTokens - 1) * 1000) / (run.totalMs - run.prefillMs),
    };
  } finally {
    await raw.session.release();
  }
}

export interface EngineSpeed {
  batch: number;
  stepMsP50: number;
  decodeTokensPerSecond: number;
}

export async function engineSpeed(
  model: CheckModel,
  provider: ExecutionProvider,
  batch: number,
  newTokens: number,
): Promise<EngineSpeed> {
  const engine = await loadEngine(model, [provider], batch, PROMPT);
  try {
    const inputs = prompts(batch, PROMPT, model.vocabSize);
    await engineGreedyRun(engine, inputs, 4, "warm-up");
    const { stepMsP50, decodeTokensPerSecond } = await engineGreedyRun(engine, inputs, newTokens, "speed");
    return { batch, stepMsP50, decodeTokensPerSecond };
  } finally {
    await engine.close();
  }
}

export interface TtftResult {
  promptTokens: number;
  /** Median of three single requests, each alone on the engine. */
  ttftMs?: number;
  skipped?: string;
}

export async function timeToFirstToken(
  model: CheckModel,
  provider: ExecutionProvider,
  promptTokens: number,
): Promise<TtftResult> {
  if (promptTokens + 1 > model.contextLength) {
    return { promptTokens, skipped: `the model's context is ${model.contextLength} tokens` };
  }
  const engine = await loadEngine(model, [provider], 1, promptTokens);
  try {
    const times: number[] = [];
    for (let run = 0; run < 4; run++) {
      const [prompt] = prompts(1, promptTokens, model.vocabSize, run);
      const { prefillMs } = await engineGreedyRun(engine, [prompt], 1, `ttft-${run}`);
      if (run > 0) times.push(prefillMs); // the first run warms the kernels for this length
    }
    return { promptTokens, ttftMs: median(times) };
  } finally {
    await engine.close();
  }
}
