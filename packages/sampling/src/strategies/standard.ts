import { truncateCandidates } from "../candidate-bound.js";
import { adjustLogits, adjustsLogits } from "../penalties.js";
import { argmax, raceCandidates, weighListed } from "../selection.js";
import type { SamplingStrategy, StrategyContext, SurvivorContext } from "../strategy.js";

/** logit bias → repetition penalty → presence/frequency → temperature → top-k → top-p → min-p → draw. */
export const standard: SamplingStrategy = {
  description:
    "Default pipeline: logitBias → repetitionPenalty → presencePenalty/frequencyPenalty → temperature " +
    "(0 = greedy) → topK → topP → minP → seeded exponential race (batch-invariant draw).",
  sample: sampleStandard,
  // Without bias or penalties the raw logits are the ones truncated, so the survivors are all it needs.
  candidateBound: (params) => (adjustsLogits(params) ? undefined : params),
  sampleSurvivors,
};

function sampleStandard(ctx: StrategyContext): number {
  const logits = adjustLogits(ctx);
  if (ctx.params.temperature === 0) return argmax(logits);
  return raceCandidates(truncateCandidates(logits, ctx.params, ctx.workspace), ctx.noise);
}

/** sampleStandard on a pruned row: argmax is the first survivor; else the race over the survivors, weighed alike. */
function sampleSurvivors(ctx: SurvivorContext): number {
  const { tokenIds, values, count, params, workspace } = ctx;
  if (params.temperature === 0) return tokenIds[0];
  weighListed(tokenIds, values, count, workspace.candidates, 1 / params.temperature);
  return raceCandidates(workspace.candidates, ctx.noise);
}
