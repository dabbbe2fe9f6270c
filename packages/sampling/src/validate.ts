import { LlmError } from "@llm/errors";
import { constraintProblem } from "./constraints/spec.js";
import type { SamplingParams } from "./params.js";
import { logitBiasEntries, MAX_TOP_LOGPROBS, type ResolvedSamplingParams, resolveSamplingParams } from "./params.js";
import type { Seed } from "./prng.js";
import { BUILTIN_STRATEGIES } from "./registry.js";

/** Limits of the validated ranges, exported so the gateway can quote them. */
export const SAMPLING_LIMITS = {
  temperature: { min: 0, max: 2 },
  penalty: { min: -2, max: 2 },
  repetitionPenalty: { max: 10 },
  logitBias: { min: -100, max: 100 },
  topLogprobs: { max: MAX_TOP_LOGPROBS },
} as const;

/** Where strategy names are looked up; a StrategyRegistry is one. */
export interface StrategyNames {
  has(name: string): boolean;
  names(): string[];
}

/**
 * Checks every field and returns the params with defaults filled in. Throws one LlmError
 * ("invalid_argument") listing every problem, with `details.problems` as `{ field, message }[]`. Strategy
 * names are checked against `strategies` (by default the built-in ones).
 */
export function validateSamplingParams(
  params: SamplingParams | undefined,
  vocabSize: number,
  strategies: StrategyNames = BUILTIN_STRATEGIES,
): ResolvedSamplingParams {
  const problems = samplingParamProblems(params, vocabSize, strategies);
  if (problems.length > 0) {
    throw new LlmError("invalid_argument", `invalid sampling params: ${problems.map((p) => p.message).join("; ")}`, {
      details: { problems },
    });
  }
  return resolveSamplingParams(params);
}

export interface ParamProblem {
  field: string;
  message: string;
}

/** Every problem with the params, empty when they are valid. */
export function samplingParamProblems(
  params: SamplingParams | undefined,
  vocabSize: number,
  strategies: StrategyNames = BUILTIN_STRATEGIES,
): ParamProblem[] {
  if (params === undefined) return [];
  if (typeof params !== "object" || params === null) {
    return [{ field: "params", message: "sampling params must be an object" }];
  }
  const problems: ParamProblem[] = [];
  const report = (field: string, message: string) => problems.push({ field, message: `${field} ${message}` });
  const { temperature, penalty, repetitionPenalty, topLogprobs } = SAMPLING_LIMITS;

  checkRange(report, "temperature", params.temperature, temperature.min, temperature.max);
  const topP = params.topP;
  if (topP !== undefined && !(isFiniteNumber(topP) && topP > 0 && topP <= 1)) {
    report("topP", `must be a number in (0, 1], got ${show(topP)}`);
  }
  checkInteger(report, "topK", params.topK, 0, Number.MAX_SAFE_INTEGER);
  checkRange(report, "minP", params.minP, 0, 1);
  const rep = params.repetitionPenalty;
  if (rep !== undefined && !(isFiniteNumber(rep) && rep > 0 && rep <= repetitionPenalty.max)) {
    report("repetitionPenalty", `must be a number in (0, ${repetitionPenalty.max}], got ${show(rep)}`);
  }
  checkRange(report, "presencePenalty", params.presencePenalty, penalty.min, penalty.max);
  checkRange(report, "frequencyPenalty", params.frequencyPenalty, penalty.min, penalty.max);
  checkInteger(report, "topLogprobs", params.topLogprobs, 0, topLogprobs.max);
  if (params.logprobs !== undefined && typeof params.logprobs !== "boolean") {
    report("logprobs", `must be a boolean, got ${show(params.logprobs)}`);
  }
  if (params.seed !== undefined) {
    const seedProblem = seedProblemOf(params.seed);
    if (seedProblem) report("seed", seedProblem);
  }
  checkLogitBias(report, params.logitBias, vocabSize);
  checkStrategy(report, params.strategy, strategies);
  const constraint = params.constraint && constraintProblem(params.constraint);
  if (constraint) problems.push({ field: "constraint", message: constraint });
  return problems;
}

/** Why a seed is unusable, or undefined when it is fine. */
export function seedProblemOf(seed: Seed): string | undefined {
  if (typeof seed === "bigint") {
    return seed >= -(1n << 63n) && seed < 1n << 64n ? undefined : `must fit in 64 bits, got ${seed}`;
  }
  return Number.isSafeInteger(seed) ? undefined : `must be a safe integer or a bigint, got ${show(seed)}`;
}

type Report = (field: string, message: string) => void;

function checkRange(report: Report, field: string, value: unknown, min: number, max: number): void {
  if (value === undefined) return;
  if (!(isFiniteNumber(value) && value >= min && value <= max)) {
    report(field, `must be a number in [${min}, ${max}], got ${show(value)}`);
  }
}

function checkInteger(report: Report, field: string, value: unknown, min: number, max: number): void {
  if (value === undefined) return;
  if (!(Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max)) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`;
    report(field, `must be an integer ${range}, got ${show(value)}`);
  }
}

function checkLogitBias(report: Report, bias: SamplingParams["logitBias"], vocabSize: number): void {
  if (bias === undefined) return;
  if (typeof bias !== "object" || bias === null) {
    report("logitBias", `must map token ids to numbers, got ${show(bias)}`);
    return;
  }
  const { min, max } = SAMPLING_LIMITS.logitBias;
  for (const [id, value] of logitBiasEntries(bias)) {
    if (!(Number.isInteger(id) && id >= 0 && id < vocabSize)) {
      report(`logitBias[${id}]`, `names no token: ids are integers in [0, ${vocabSize - 1}]`);
    } else if (!(isFiniteNumber(value) && value >= min && value <= max)) {
      report(`logitBias[${id}]`, `must be a number in [${min}, ${max}], got ${show(value)}`);
    }
  }
}

function checkStrategy(report: Report, name: unknown, strategies: StrategyNames): void {
  if (name === undefined || name === "") return;
  if (typeof name !== "string") {
    report("strategy", `must be a string, got ${show(name)}`);
  } else if (!strategies.has(name)) {
    report("strategy", `"${name}" is unknown; known strategies: ${strategies.names().join(", ")}`);
  }
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value);
}

function show(value: unknown): string {
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") return String(value);
  return JSON.stringify(value) ?? String(value);
}
