// Speculative decoding as a deployment sets it: the mode of requests that do not choose one, the draft model
// (loaded beside the target, checked to share its vocabulary) and the lookahead policy.
import {
  DraftModel,
  type EngineSizing,
  type PolicyName,
  policyNamed,
  type SpeculationOptions,
  type SpeculativeMode,
} from "@llm/engine";
import type { Log } from "@llm/log";

/** The registry's speculation settings (read in main.ts). */
export interface SpeculationSettings {
  LLM_SPECULATIVE: SpeculativeMode;
  LLM_DRAFT_MODEL_DIR: string | undefined;
  LLM_DRAFT_MODEL_FILE: string;
  LLM_SPECULATIVE_MAX_LOOKAHEAD: number;
  LLM_SPECULATIVE_MAX_BATCH: number;
  LLM_SPECULATIVE_POLICY: PolicyName;
}

export const SPECULATION_SETTINGS = [
  "LLM_SPECULATIVE",
  "LLM_DRAFT_MODEL_DIR",
  "LLM_DRAFT_MODEL_FILE",
  "LLM_SPECULATIVE_MAX_LOOKAHEAD",
  "LLM_SPECULATIVE_MAX_BATCH",
  "LLM_SPECULATIVE_POLICY",
] as const;

export async function speculationOf(
  settings: SpeculationSettings,
  sizing: Pick<EngineSizing, "providers">,
  vocabSize: number,
  log: Log,
): Promise<SpeculationOptions> {
  if (settings.LLM_SPECULATIVE === "draft" && !settings.LLM_DRAFT_MODEL_DIR) {
    throw new Error("LLM_SPECULATIVE=draft needs LLM_DRAFT_MODEL_DIR: the draft model's folder");
  }
  const draft = settings.LLM_DRAFT_MODEL_DIR
    ? await DraftModel.load(
        {
          modelDir: settings.LLM_DRAFT_MODEL_DIR,
          modelFile: settings.LLM_DRAFT_MODEL_FILE,
          providers: sizing.providers,
          log,
        },
        vocabSize,
      )
    : undefined;
  return {
    defaultMode: settings.LLM_SPECULATIVE,
    draft,
    policy: policyNamed(settings.LLM_SPECULATIVE_POLICY, {
      maxLookahead: settings.LLM_SPECULATIVE_MAX_LOOKAHEAD,
      maxBatchSize: settings.LLM_SPECULATIVE_MAX_BATCH,
    }),
  };
}

/** Most logits rows one step sends the sampler: a row per sequence, and one per proposal of those speculating. */
export function stepRows(maxBatchSize: number, settings: SpeculationSettings): number {
  const speculating = Math.min(maxBatchSize, settings.LLM_SPECULATIVE_MAX_BATCH);
  return maxBatchSize + speculating * settings.LLM_SPECULATIVE_MAX_LOOKAHEAD;
}
