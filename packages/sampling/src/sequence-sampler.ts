import { LlmError } from "@llm/errors";
import type { ConstraintMatcher } from "./constraints/matcher.js";
import { isConstrained } from "./constraints/spec.js";
import { TokenHistory } from "./history.js";
import { type TopLogprob, tokenLogprobs } from "./logprobs.js";
import type { ResolvedSamplingParams, SamplingParams } from "./params.js";
import { CounterRng, randomSeed64, type Seed, toSeed64 } from "./prng.js";
import type { SamplingStrategy, StrategyContext, StrategyRegistry } from "./strategy.js";
import { seedProblemOf, validateSamplingParams } from "./validate.js";
import type { Workspace } from "./workspace.js";

export interface OpenSequenceOptions {
  params?: SamplingParams;
  /** Seed of the sequence's generator; takes precedence over params.seed. Neither: a random one (see .seed). */
  seed?: Seed;
  /** Prompt token ids: the repetition penalty counts them as seen. */
  promptTokenIds?: Iterable<number>;
  /**
   * Tokens this sequence already generated elsewhere (a runner taking a request over): penalties count them as
   * output, and the next token is drawn as token index `outputTokenIds.length`, as the first runner would have.
   */
  outputTokenIds?: Iterable<number>;
  /** The matcher of params.constraint, started at the beginning of its language (Sampler.openSequence makes it). */
  matcher?: ConstraintMatcher;
}

export interface SampledToken {
  tokenId: number;
  /** Log probability under the model's distribution (see logprobs.ts); present when params.logprobs. */
  logprob?: number;
  topLogprobs?: TopLogprob[];
}

/**
 * One sequence's sampling state: validated params, its strategy, its own seeded generator, and the tokens
 * it has seen. Token i is a function of (seed, params, prompt, tokens 0..i-1, logits) only: never of the
 * other sequences of a batch, nor of where the earlier tokens were sampled.
 */
export class SequenceSampler {
  /** The unsigned 64-bit seed in use; pass it back when opening to reproduce this sequence's tokens. */
  readonly seed: bigint;
  readonly params: ResolvedSamplingParams;
  readonly history: TokenHistory;
  private readonly strategy: SamplingStrategy;
  private readonly rng: CounterRng;
  private readonly workspace: Workspace;
  /** Present for constrained sequences: masks each step's logits and follows the tokens sampled. */
  readonly matcher: ConstraintMatcher | undefined;

  constructor(workspace: Workspace, registry: StrategyRegistry, options: OpenSequenceOptions = {}) {
    const vocabSize = workspace.vocabSize;
    this.params = validateSamplingParams(options.params, vocabSize, registry);
    this.strategy = registry.get(this.params.strategy);
    this.seed = chooseSeed(options.seed ?? options.params?.seed);
    this.history = new TokenHistory(checkedIds(options.promptTokenIds ?? [], vocabSize, "promptTokenIds"));
    const outputIds = checkedIds(options.outputTokenIds ?? [], vocabSize, "outputTokenIds");
    for (const id of outputIds) this.history.append(id);
    this.rng = new CounterRng(this.seed);
    this.workspace = workspace;
    if (isConstrained(this.params.constraint) !== (options.matcher !== undefined)) {
      throw new LlmError(
        "failed_precondition",
        options.matcher
          ? "a matcher was given without a constraint"
          : "a constrained sequence is opened with Sampler.openSequence",
      );
    }
    this.matcher = options.matcher;
    // Tokens generated before a takeover are already part of the constrained output.
    for (const id of outputIds) this.matcher?.accept(id);
  }

  /** Chooses the next token from this step's logits (length vocabSize) and records it. */
  sample(logits: Float32Array): SampledToken {
    const { workspace, history, rng } = this;
    if (logits.length !== workspace.vocabSize) {
      throw new LlmError(
        "invalid_argument",
        `logits have ${logits.length} entries but the vocabulary has ${workspace.vocabSize}`,
      );
    }
    const step = history.generatedLength;
    const draws = rng.drawNoise(step);
    let drawn = 0;
    const { matcher } = this;
    if (matcher) matcher.applyMask(logits, workspace.masked);
    const context: StrategyContext = {
      logits: matcher ? workspace.masked : logits,
      params: this.params,
      history,
      workspace,
      noise: rng.tokenNoise(step),
      random: () => draws.double(drawn++),
    };
    const tokenId = this.strategy.sample(context);
    if (!(Number.isInteger(tokenId) && tokenId >= 0 && tokenId < workspace.vocabSize)) {
      throw new LlmError(
        "internal",
        `strategy "${this.params.strategy}" returned ${tokenId}, not a token id in [0, ${workspace.vocabSize})`,
      );
    }
    matcher?.accept(tokenId);
    this.history.append(tokenId);
    if (!this.params.logprobs) return { tokenId };
    return { tokenId, ...tokenLogprobs(logits, tokenId, this.params.topLogprobs, workspace.candidates) };
  }
}

function chooseSeed(seed: Seed | undefined): bigint {
  if (seed === undefined) return randomSeed64();
  const problem = seedProblemOf(seed);
  if (problem) throw new LlmError("invalid_argument", `seed ${problem}`, { details: { field: "seed" } });
  return toSeed64(seed);
}

function checkedIds(tokenIds: Iterable<number>, vocabSize: number, field: string): number[] {
  const ids = Array.from(tokenIds);
  for (const id of ids) {
    if (!(Number.isInteger(id) && id >= 0 && id < vocabSize)) {
      const what = field === "promptTokenIds" ? "prompt" : "output";
      throw new LlmError("invalid_argument", `${what} token id ${id} is outside the vocabulary [0, ${vocabSize})`, {
        details: { field },
      });
    }
  }
  return ids;
}
