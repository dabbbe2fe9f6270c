export {
  type CandidateBound,
  type PrunedRow,
  type PruneSpec,
  prunedRowProblem,
  pruneRow,
  truncateCandidates,
} from "./candidate-bound.js";
export { allCandidates, Candidates, collectAtLeast, selectLargest, sortByValue } from "./candidates.js";
export {
  type CompileStats,
  ConstraintCompiler,
  type ConstraintCompilerOptions,
} from "./constraints/compiler.js";
export type { Constraint } from "./constraints/grammar-source.js";
export { applyBitmask, ConstraintMatcher } from "./constraints/matcher.js";
export { jsonSchemaProblem, SCHEMA_LIMITS } from "./constraints/schema-rules.js";
export {
  CONSTRAINT_LIMITS,
  type ConstraintKind,
  type ConstraintSpec,
  checkConstraint,
  constraintProblem,
  isConstrained,
} from "./constraints/spec.js";
export type { GrammarVocabulary } from "./constraints/vocabulary.js";
export { expNonPositive, logSumExp, maxOf, sumExpBelow } from "./fast-exp.js";
export { dtypeBytes, type LogitsDtype, widenHalf } from "./half.js";
export { TokenHistory } from "./history.js";
export { type TokenLogprobs, type TopLogprob, tokenLogprobs } from "./logprobs.js";
export {
  DEFAULT_STRATEGY,
  MAX_TOP_LOGPROBS,
  type ResolvedSamplingParams,
  resolveSamplingParams,
  type SamplingParams,
} from "./params.js";
export {
  adjustLogits,
  adjustsLogits,
  applyLogitBias,
  applyPresenceFrequencyPenalties,
  applyRepetitionPenalty,
} from "./penalties.js";
export { CounterRng, randomSeed64, type Seed, StepNoise, toSeed64 } from "./prng.js";
export { BUILTIN_STRATEGIES, createStrategyRegistry } from "./registry.js";
export {
  type BatchFailure,
  type BatchItem,
  type BatchResult,
  type BatchSample,
  isBatchFailure,
  type ProposalItem,
  Sampler,
  type SamplerOptions,
  type SequenceId,
} from "./sampler.js";
export {
  argmax,
  raceCandidates,
  type TokenNoise,
  truncateMinP,
  weighCandidates,
  weighListed,
  weighVocabulary,
} from "./selection.js";
export { type OpenSequenceOptions, type SampledToken, SequenceSampler } from "./sequence-sampler.js";
export { greedy } from "./strategies/greedy.js";
export { standard } from "./strategies/standard.js";
export {
  type SamplingStrategy,
  type StrategyContext,
  type StrategyInfo,
  StrategyRegistry,
} from "./strategy.js";
export { createMassHistogram, truncateTopP, truncateVocabularyTopP } from "./top-p.js";
export {
  type ParamProblem,
  SAMPLING_LIMITS,
  type StrategyNames,
  samplingParamProblems,
  seedProblemOf,
  validateSamplingParams,
} from "./validate.js";
export { Workspace } from "./workspace.js";
