import type { ResolvedSamplingParams } from "./params.js";
import type { StrategyContext } from "./strategy.js";

// Logit adjustments, applied in this order: logit bias → repetition penalty → presence/frequency
// penalties. Each touches only the tokens it names, so a step costs O(bias + seen tokens), not O(vocab).

/** Adds each bias to its token's logit (OpenAI logit_bias; -100 effectively bans a token). */
export function applyLogitBias(logits: Float32Array, bias: ReadonlyMap<number, number>): void {
  for (const [id, value] of bias) logits[id] += value;
}

/**
 * CTRL / Hugging Face repetition penalty over every token seen in the prompt or output: a positive logit is
 * divided by the penalty, a negative one multiplied, so a penalty > 1 always makes the token less likely.
 */
export function applyRepetitionPenalty(logits: Float32Array, seen: Iterable<number>, penalty: number): void {
  for (const id of seen) {
    const logit = logits[id];
    logits[id] = logit > 0 ? logit / penalty : logit * penalty;
  }
}

/** OpenAI penalties over generated tokens: logit −= presence·[count > 0] + frequency·count. */
export function applyPresenceFrequencyPenalties(
  logits: Float32Array,
  generatedCounts: ReadonlyMap<number, number>,
  presence: number,
  frequency: number,
): void {
  for (const [id, count] of generatedCounts) logits[id] -= presence + frequency * count;
}

/** Whether bias or a penalty can move any logit of a sequence with these params (its history aside). */
export function adjustsLogits(params: ResolvedSamplingParams): boolean {
  return (
    params.logitBias.size > 0 ||
    params.repetitionPenalty !== 1 ||
    params.presencePenalty !== 0 ||
    params.frequencyPenalty !== 0
  );
}

/**
 * The sequence's logits after bias and penalties. Returns the model's own array untouched when none of them
 * applies; otherwise a copy in the workspace (the caller's logits buffer is never written).
 */
export function adjustLogits(ctx: Pick<StrategyContext, "logits" | "params" | "history" | "workspace">): Float32Array {
  const { logits, params, history, workspace } = ctx;
  const bias = params.logitBias.size > 0;
  const repetition = params.repetitionPenalty !== 1 && history.seen.size > 0;
  const presenceOrFrequency =
    (params.presencePenalty !== 0 || params.frequencyPenalty !== 0) && history.generatedLength > 0;
  if (!bias && !repetition && !presenceOrFrequency) return logits;

  const adjusted = workspace.adjusted;
  adjusted.set(logits);
  if (bias) applyLogitBias(adjusted, params.logitBias);
  if (repetition) applyRepetitionPenalty(adjusted, history.seen, params.repetitionPenalty);
  if (presenceOrFrequency) {
    applyPresenceFrequencyPenalties(adjusted, history.generatedCounts, params.presencePenalty, params.frequencyPenalty);
  }
  return adjusted;
}
