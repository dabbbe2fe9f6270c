// GenAI semantic-convention attribute names (https://opentelemetry.io/docs/specs/semconv/gen-ai/) and ours.
export const GEN_AI = {
  operationName: "gen_ai.operation.name",
  requestModel: "gen_ai.request.model",
  requestTemperature: "gen_ai.request.temperature",
  requestTopP: "gen_ai.request.top_p",
  requestTopK: "gen_ai.request.top_k",
  requestMaxTokens: "gen_ai.request.max_tokens",
  requestSeed: "gen_ai.request.seed",
  responseId: "gen_ai.response.id",
  responseFinishReasons: "gen_ai.response.finish_reasons",
  usageInputTokens: "gen_ai.usage.input_tokens",
  usageOutputTokens: "gen_ai.usage.output_tokens",
  /** Recorded only when LLM_TRACE_CONTENT=true. */
  inputMessages: "gen_ai.input.messages",
  outputMessages: "gen_ai.output.messages",
} as const;

/** Attributes of ours, under `llm.`. */
export const LLM_ATTR = {
  requestId: "llm.request_id",
  cachedInputTokens: "llm.usage.cached_input_tokens",
  stepIndex: "llm.step.index",
  batchSize: "llm.batch.size",
  prefillTokens: "llm.step.prefill_tokens",
  decodeTokens: "llm.step.decode_tokens",
  newTokens: "llm.step.new_tokens",
  provider: "llm.provider",
  tokenIndex: "llm.token.index",
  tokenId: "llm.token.id",
  sincePreviousMs: "llm.token.since_previous_ms",
} as const;

/** The span event name of one generated token on the runner's request span. */
export const TOKEN_EVENT = "llm.token";
