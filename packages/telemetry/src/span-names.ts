// Every span name and span attribute the services record, in one place beside the metric names (metric-names.ts):
// the GenAI semantic conventions (https://opentelemetry.io/docs/specs/semconv/gen-ai/), the general ones we use,
// and ours under `llm.`. gRPC server spans are named by their method path, HTTP ones by method and route.

/** Names of the spans we start ourselves. */
export const SPANS = {
  /** Runner: a request from admission to its final event (one TOKEN_EVENT per token). */
  runnerGenerate: "llm.runner.generate",
  /** Runner: one engine step a request took part in. */
  runnerStep: "llm.runner.step",
  /** Runner: the time a request waited in the engine for a batch slot. */
  runnerQueue: "llm.runner.queue",
  /** Runner (cluster mode): the time a job waited in the Redis queue. */
  queueWait: "llm.queue.wait",
  /** Sampler: one sequence's sampling session. */
  samplerSequence: "llm.sampler.sequence",
  /** Embedder: one Embed call (GenAI operation "embeddings"), from validation to its vectors. */
  embedderEmbed: "llm.embedder.embed",
} as const;

/** General semantic-convention attributes (rpc, http, messaging, error). */
export const SEMCONV = {
  rpcSystem: "rpc.system",
  rpcService: "rpc.service",
  rpcMethod: "rpc.method",
  httpRequestMethod: "http.request.method",
  httpRoute: "http.route",
  httpResponseStatusCode: "http.response.status_code",
  messagingSystem: "messaging.system",
  messagingOperationType: "messaging.operation.type",
  errorType: "error.type",
} as const;

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
  /** A speculative verify step: the most proposals a row carried (k), proposed and accepted tokens. */
  verifyLookahead: "llm.step.verify.lookahead",
  proposedTokens: "llm.step.verify.proposed_tokens",
  acceptedTokens: "llm.step.verify.accepted_tokens",
  provider: "llm.provider",
  tokenIndex: "llm.token.index",
  tokenId: "llm.token.id",
  /** Inputs of one embeddings request. */
  embeddingInputs: "llm.embedding.inputs",
  sincePreviousMs: "llm.token.since_previous_ms",
  samplerStrategy: "llm.sampler.strategy",
  samplerTokens: "llm.sampler.tokens",
} as const;

/** The span event name of one generated token on the runner's request span. */
export const TOKEN_EVENT = "llm.token";
