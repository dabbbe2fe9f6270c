import { adjustLogits, adjustsLogits } from "../penalties.js";
import { argmax } from "../selection.js";
import type { SamplingStrategy } from "../strategy.js";

const BEST_AND_TIES = { temperature: 0, topK: 0, topP: 1, minP: 0 };

export const greedy: SamplingStrategy = {
  description:
    "The most likely token after logit bias and repetition/presence/frequency penalties (ties: lowest id); " +
    "ignores temperature and the truncation filters and uses no randomness.",
  sample: (ctx) => argmax(adjustLogits(ctx)),
  candidateBound: (params) => (adjustsLogits(params) ? undefined : BEST_AND_TIES),
  // The survivors are the best logit's ids, lowest first: argmax's choice.
  sampleSurvivors: (ctx) => ctx.tokenIds[0],
};
