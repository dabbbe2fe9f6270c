export { finishReasonName, type GenerateInput, type GenerationResult, generate } from "./generate.js";
export { type LatencySummary, quantile, renderTimings, summarize } from "./timings.js";
