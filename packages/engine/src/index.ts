export { Engine, type EngineOptions } from "./engine.js";
export { inProcessSampler } from "./in-process-sampler.js";
export { type KvDtype, kvBytesPerToken, type ModelConfig, readModelConfig } from "./model-config.js";
export { DEFAULT_MODEL_FILE, MODEL_FILES_BY_DTYPE, resolveModelFile } from "./model-file.js";
export type {
  EngineSampler,
  OpenedSequence,
  ProposalInput,
  SampledToken,
  SampleInput,
  SampleResult,
  TopLogprob,
} from "./sampler.js";
export { createSession, type ExecutionProvider, type ProviderAttempt } from "./session.js";
export { type EngineSizing, engineSizing } from "./sizing.js";
export { DraftModel } from "./speculation/draft.js";
export {
  type LoadAwarePolicyOptions,
  type LookaheadContext,
  loadAwarePolicy,
  type PolicyName,
  policyNamed,
  type SpeculationPolicy,
  type StepSpeed,
} from "./speculation/policy.js";
export type { SpeculationOptions } from "./speculation/speculator.js";
export type { SpeculativeMode } from "./speculation/state.js";
export type { EngineObserver, EngineStep } from "./step-report.js";
export type {
  EngineInfo,
  FinalEvent,
  FinishReason,
  GenerateRequest,
  GenerationEvent,
  TokenEvent,
  TokenTiming,
  Usage,
} from "./types.js";
