import { adjustLogits } from "../penalties.js";
import { argmax } from "../selection.js";
import type { SamplingStrategy } from "../strategy.js";

export const greedy: SamplingStrategy = {
  description:
    "The most likely token after logit bias and repetition/presence/frequency penalties (ties: lowest id); " +
    "ignores temperature and the truncation filters and uses no randomness.",
  sample: (ctx) => argmax(adjustLogits(ctx)),
};
