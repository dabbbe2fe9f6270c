import { selectLargest } from "../candidates.js";
import { adjustLogits } from "../penalties.js";
import { argmax, raceCandidates, truncateMinP, truncateTopP, weighCandidates, weighVocabulary } from "../selection.js";
import type { SamplingStrategy, StrategyContext } from "../strategy.js";

/** logit bias → repetition penalty → presence/frequency → temperature → top-k → top-p → min-p → draw. */
export const standard: SamplingStrategy = {
  description:
    "Default pipeline: logitBias → repetitionPenalty → presencePenalty/frequencyPenalty → temperature " +
    "(0 = greedy) → topK → topP → minP → seeded exponential race (batch-invariant draw).",
  sample: sampleStandard,
};

function sampleStandard(ctx: StrategyContext): number {
  const logits = adjustLogits(ctx);
  const { temperature, topK, topP, minP } = ctx.params;
  if (temperature === 0) return argmax(logits);

  const inverseTemperature = 1 / temperature;
  const { candidates, massHistogram } = ctx.workspace;
  // Weighing after top-k makes top-p's mass relative to the top-k set, as in Hugging Face.
  if (topK > 0 && topK < logits.length) {
    selectLargest(logits, topK, candidates, true);
    weighCandidates(logits, candidates, inverseTemperature);
  } else {
    weighVocabulary(logits, candidates, inverseTemperature);
  }
  if (topP < 1) truncateTopP(logits, candidates, inverseTemperature, topP, massHistogram);
  if (minP > 0) truncateMinP(candidates, minP);
  return raceCandidates(candidates, ctx.noise);
}
