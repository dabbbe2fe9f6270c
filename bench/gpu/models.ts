// What the GPU checks run on: the model pack's presets, built where the checks run (no weights travel), and
// deterministic prompts of token ids (no tokenizer needed).
import { join } from "node:path";
import { Engine, type ExecutionProvider, inProcessSampler, readModelConfig } from "@llm/engine";
import { jsonLog } from "@llm/log";
import { buildModel } from "@llm/model-pack";
import { Sampler, type SamplingParams } from "@llm/sampling";

export interface CheckModel {
  preset: string;
  dir: string;
  contextLength: number;
  vocabSize: number;
}

export async function buildCheckModel(preset: string, workDir: string): Promise<CheckModel> {
  const built = await buildModel(preset, join(workDir, "models", preset));
  const { contextLength, vocabSize } = await readModelConfig(built.dir);
  return { preset, dir: built.dir, contextLength, vocabSize };
}

/** `count` prompts of `length` ids, different per prompt, the same on every machine. */
export function prompts(count: number, length: number, vocabSize: number, salt = 0): number[][] {
  return Array.from({ length: count }, (_, b) =>
    Array.from({ length }, (_, i) => (i * 7919 + (b + salt) * 104_729 + 13) % (vocabSize - 1)),
  );
}

/** A greedy engine on one provider, sized so `batch` prompts of up to `promptTokens` prefill in one step. */
export function loadEngine(
  model: CheckModel,
  providers: ExecutionProvider[],
  batch: number,
  promptTokens: number,
): Promise<Engine<SamplingParams>> {
  return Engine.load({
    modelDir: model.dir,
    providers,
    sampler: inProcessSampler(new Sampler({ vocabSize: model.vocabSize })),
    maxBatchSize: batch,
    maxStepTokens: Math.max(batch * promptTokens + batch, 512),
    prefillChunkTokens: Math.max(promptTokens, 256),
    kvCacheBytes: 64 * 1024 ** 3,
    prefixCacheBytes: 0, // every run prefills its whole prompt
    log: jsonLog("warn"),
  });
}
