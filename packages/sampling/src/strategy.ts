import { LlmError } from "@llm/errors";
import type { CandidateBound } from "./candidate-bound.js";
import type { TokenHistory } from "./history.js";
import type { ResolvedSamplingParams } from "./params.js";
import type { TokenNoise } from "./selection.js";
import type { Workspace } from "./workspace.js";

/** What a strategy sees when it chooses one sequence's next token. */
export interface StrategyContext {
  /** The model's logits for this sequence's last position; read-only (a view into the runner's buffer). */
  readonly logits: Float32Array;
  readonly params: ResolvedSamplingParams;
  /** Prompt and generated tokens, for penalties. */
  readonly history: TokenHistory;
  /** Scratch buffers shared by the whole batch; valid only during this call. */
  readonly workspace: Workspace;
  /**
   * This token's uniforms in (0, 1) by token id, a function of (seed, token index, token id) only: what
   * raceCandidates draws with. With `random`, the only allowed randomness.
   */
  readonly noise: TokenNoise;
  /** Uniform doubles in [0, 1): the n-th call at token index i is a function of (seed, i, n) only. */
  random(): number;
}

/**
 * A named sampling plugin. It returns a token id; the sampler records the token in the history and computes
 * logprobs itself, so every strategy reports them the same way. The stage functions (adjustLogits,
 * topKCandidates, candidatesWithin, nucleusReach, truncateTopP, truncateMinP, raceCandidates, …) are exported
 * so a new strategy can reuse any of them.
 */
export interface SamplingStrategy {
  /** One line for ListStrategies: what it does and which params it reads. */
  readonly description: string;
  sample(ctx: StrategyContext): number;
  /**
   * Optional: the truncation of the raw logits this strategy's token depends on for these params, when it
   * depends on nothing else. A remote runner may then send only the survivors: `sample` is called with every
   * other logit at -Infinity and with topK = the number of survivors, topP 1, minP 0 (the truncation is already
   * done; every survivor is finite, so top-k keeps exactly them) and must choose
   * the same token. Undefined (the default, and what any strategy reading more of the row must return):
   * full rows.
   */
  candidateBound?(params: ResolvedSamplingParams): CandidateBound | undefined;
  /**
   * Optional, with candidateBound: the very token `sample` chooses from a pruned row (the call described there),
   * computed from the survivors themselves instead of a vocab-sized row of -Infinity with them scattered in.
   */
  sampleSurvivors?(ctx: SurvivorContext): number;
}

/** What sampleSurvivors sees: a StrategyContext whose row is only the survivors of the strategy's bound. */
export interface SurvivorContext extends Omit<StrategyContext, "logits"> {
  /** The survivors' ids, sorted by (logit descending, id ascending); only the first `count` are read. */
  readonly tokenIds: ArrayLike<number>;
  /** Their raw logits, in the same order. */
  readonly values: Float32Array;
  readonly count: number;
}

export interface StrategyInfo {
  name: string;
  description: string;
}

const STRATEGY_NAME = /^[a-z][a-z0-9_.-]{0,63}$/;

export class StrategyRegistry {
  private readonly strategies = new Map<string, SamplingStrategy>();

  /** Adds a strategy; names are lower-case identifiers and cannot be registered twice. */
  register(name: string, strategy: SamplingStrategy): this {
    if (!STRATEGY_NAME.test(name)) {
      throw new LlmError(
        "invalid_argument",
        `strategy name "${name}" is invalid: use 1-64 characters a-z, 0-9, "_", "-", "." starting with a letter`,
      );
    }
    if (this.strategies.has(name)) {
      throw new LlmError("failed_precondition", `strategy "${name}" is already registered`);
    }
    if (
      typeof strategy?.sample !== "function" ||
      typeof strategy.description !== "string" ||
      !isOptionalFunction(strategy.candidateBound) ||
      !isOptionalFunction(strategy.sampleSurvivors)
    ) {
      throw new LlmError(
        "invalid_argument",
        `strategy "${name}" needs a sample(ctx) function and a description (and candidateBound, sampleSurvivors, if any, functions)`,
      );
    }
    this.strategies.set(name, strategy);
    return this;
  }

  has(name: string): boolean {
    return this.strategies.has(name);
  }

  /** The strategy called `name`; an unknown name is an error that lists the known ones. */
  get(name: string): SamplingStrategy {
    const strategy = this.strategies.get(name);
    if (!strategy) {
      throw new LlmError("invalid_argument", `unknown sampling strategy "${name}"; known: ${this.names().join(", ")}`, {
        details: { field: "strategy", known: this.names() },
      });
    }
    return strategy;
  }

  names(): string[] {
    return [...this.strategies.keys()].sort();
  }

  list(): StrategyInfo[] {
    return this.names().map((name) => ({ name, description: this.get(name).description }));
  }
}

function isOptionalFunction(value: unknown): boolean {
  return value === undefined || typeof value === "function";
}
