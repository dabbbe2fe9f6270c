import type { ConstraintSpec } from "./constraints/spec.js";
import type { Seed } from "./prng.js";

/**
 * How to choose the next token. Field names and neutral values follow llm.v1.SamplingParams (protobuf-es
 * generates exactly these camelCase names), so a decoded proto message can be passed as it is.
 */
export interface SamplingParams {
  /** Registered strategy name; empty or unset picks "standard". */
  strategy?: string;
  /** Softmax temperature in [0, 2]; 0 means greedy. Unset: 1. */
  temperature?: number;
  /** Keep the k most likely tokens (ties with the k-th included); 0 disables. */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose mass reaches topP, in (0, 1]. Unset: 1 (off). */
  topP?: number;
  /** Drop tokens whose probability is below minP × the top token's probability, in [0, 1]; 0 disables. */
  minP?: number;
  /** CTRL-style penalty (> 0) on tokens seen in the prompt or output; unset or 1 disables. */
  repetitionPenalty?: number;
  /** Subtracted once from the logit of every token already generated, in [-2, 2]. */
  presencePenalty?: number;
  /** Subtracted per earlier occurrence in the output, in [-2, 2]. */
  frequencyPenalty?: number;
  /** Token id → value in [-100, 100] added to its logit before anything else. */
  logitBias?: Readonly<Record<number, number>> | ReadonlyMap<number, number>;
  /** Seed of the sequence's generator; the seed given when opening the sequence takes precedence. */
  seed?: Seed;
  /** Report the chosen token's log probability. */
  logprobs?: boolean;
  /** How many most likely alternatives to report, in [0, 20]. */
  topLogprobs?: number;
  /**
   * Restricts the output to a language (JSON schema, regex, choice, grammar); applied before every other
   * step. Needs a Sampler created with a ConstraintCompiler.
   */
  constraint?: ConstraintSpec;
}

/** SamplingParams with every default filled in, as strategies see them. */
export interface ResolvedSamplingParams {
  readonly strategy: string;
  readonly temperature: number;
  readonly topK: number;
  readonly topP: number;
  readonly minP: number;
  readonly repetitionPenalty: number;
  readonly presencePenalty: number;
  readonly frequencyPenalty: number;
  readonly logitBias: ReadonlyMap<number, number>;
  readonly logprobs: boolean;
  readonly topLogprobs: number;
  readonly constraint: ConstraintSpec | undefined;
}

export const DEFAULT_STRATEGY = "standard";
export const MAX_TOP_LOGPROBS = 20;

/** Fills in defaults; assumes the params passed validation. */
export function resolveSamplingParams(params: SamplingParams = {}): ResolvedSamplingParams {
  const topLogprobs = params.topLogprobs ?? 0;
  return {
    strategy: params.strategy || DEFAULT_STRATEGY,
    temperature: params.temperature ?? 1,
    topK: params.topK ?? 0,
    topP: params.topP ?? 1,
    minP: params.minP ?? 0,
    repetitionPenalty: params.repetitionPenalty ?? 1,
    presencePenalty: params.presencePenalty ?? 0,
    frequencyPenalty: params.frequencyPenalty ?? 0,
    logitBias: logitBiasEntries(params.logitBias),
    // Alternatives are meaningless without the chosen token's own logprob, so asking for them implies it.
    logprobs: (params.logprobs ?? false) || topLogprobs > 0,
    topLogprobs,
    constraint: params.constraint,
  };
}

/** Logit bias as a Map with numeric keys (a plain object, as JSON and protobuf maps give, has string keys). */
export function logitBiasEntries(bias: SamplingParams["logitBias"]): Map<number, number> {
  if (bias === undefined) return new Map();
  if (bias instanceof Map) return new Map(bias);
  return new Map(Object.entries(bias).map(([id, value]) => [Number(id), value]));
}
