// Does a GPU provider compute what the CPU computes? The first forward's logits side by side (largest
// difference), then greedy generation through the project's engine on each, token for token.
import type { ExecutionProvider } from "@llm/engine";
import * as ort from "onnxruntime-node";
import { engineGreedyRun } from "../engine-run.js";
import { type CheckModel, loadEngine, prompts } from "./models.js";
import { prefillFeeds } from "./probe.js";

export interface ParityResult {
  preset: string;
  device: ExecutionProvider;
  /** Largest |device − cpu| over the first forward's last-position logits (a 32-token prompt). */
  logitsMaxAbsDiff: number;
  sameArgmax: boolean;
  prompts: number;
  newTokens: number;
  identicalSequences: number;
  /** The first sequence that differs, at its first differing index; absent when all are identical. */
  firstDivergence?: { prompt: number; index: number; device: number; cpu: number };
}

export async function checkParity(
  model: CheckModel,
  device: ExecutionProvider,
  count: number,
  newTokens: number,
): Promise<ParityResult> {
  const [deviceLogits, cpuLogits] = [await firstLogits(model, device), await firstLogits(model, "cpu")];
  let logitsMaxAbsDiff = 0;
  for (let i = 0; i < cpuLogits.length; i++)
    logitsMaxAbsDiff = Math.max(logitsMaxAbsDiff, Math.abs(deviceLogits[i] - cpuLogits[i]));

  const inputs = prompts(count, 32, model.vocabSize, 1);
  const [onDevice, onCpu] = [
    await generate(model, device, inputs, newTokens),
    await generate(model, "cpu", inputs, newTokens),
  ];
  let identicalSequences = 0;
  let firstDivergence: ParityResult["firstDivergence"];
  onCpu.forEach((cpu, prompt) => {
    const index = cpu.findIndex((id, i) => id !== onDevice[prompt][i]);
    if (index < 0) identicalSequences++;
    else firstDivergence ??= { prompt, index, device: onDevice[prompt][index], cpu: cpu[index] };
  });
  return {
    preset: model.preset,
    device,
    logitsMaxAbsDiff,
    sameArgmax: argmax(deviceLogits) === argmax(cpuLogits),
    prompts: count,
    newTokens,
    identicalSequences,
    ...(firstDivergence ? { firstDivergence } : {}),
  };
}

async function firstLogits(model: CheckModel, provider: ExecutionProvider): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(`${model.dir}/onnx/model.onnx`, { executionProviders: [provider] });
  try {
    const out = await session.run(prefillFeeds(session, model, 32));
    const logits = out.logits.data as Float32Array;
    return logits.slice(logits.length - model.vocabSize);
  } finally {
    await session.release();
  }
}

async function generate(model: CheckModel, provider: ExecutionProvider, inputs: number[][], newTokens: number) {
  const engine = await loadEngine(model, [provider], inputs.length, 32);
  try {
    return (await engineGreedyRun(engine, inputs, newTokens, `parity-${provider}`)).tokens;
  } finally {
    await engine.close();
  }
}

function argmax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}
