import { LlmError } from "@llm/errors";
import { type PrunedRow, type PruneSpec, prunedRowProblem } from "./candidate-bound.js";
import type { ConstraintMatcher } from "./constraints/matcher.js";
import { isConstrained } from "./constraints/spec.js";
import { TokenHistory } from "./history.js";
import { type TokenLogprobs, type TopLogprob, tokenLogprobs } from "./logprobs.js";
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
  /** Set when the strategy declared a candidate bound: rows may then come pruned (samplePruned). */
  readonly pruneSpec: PruneSpec | undefined;
  private readonly strategy: SamplingStrategy;
  /** The params a pruned row is sampled with (topK set per row): its truncation was applied by the runner. */
  private readonly prunedParams: { -readonly [K in keyof ResolvedSamplingParams]: ResolvedSamplingParams[K] };
  private readonly rng: CounterRng;
  private readonly workspace: Workspace;
  /** Present for constrained sequences: masks each step's logits and follows the tokens sampled. */
  readonly matcher: ConstraintMatcher | undefined;

  constructor(workspace: Workspace, registry: StrategyRegistry, options: OpenSequenceOptions = {}) {
    const vocabSize = workspace.vocabSize;
    this.params = validateSamplingParams(options.params, vocabSize, registry);
    this.strategy = registry.get(this.params.strategy);
    // A constraint masks the whole vocabulary: a constrained sequence always needs full rows.
    const bound = isConstrained(this.params.constraint) ? undefined : this.strategy.candidateBound?.(this.params);
    this.pruneSpec = bound && {
      temperature: bound.temperature,
      topK: bound.topK,
      topP: bound.topP,
      minP: bound.minP,
      logprobs: this.params.logprobs,
      topLogprobs: this.params.topLogprobs,
    };
    this.prunedParams = { ...this.params, topP: 1, minP: 0 };
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
    this.checkRows(logits, 1);
    return this.withLogprobs(logits, this.choose(logits, this.params));
  }

  /** Whether verify() may be used: a constrained sequence's masks follow its tokens one step at a time. */
  get verifies(): boolean {
    return this.matcher === undefined;
  }

  /**
   * Speculative verification. `rows` holds `proposed.length + 1` rows of logits: row j is the model's next-token
   * distribution after the proposals before j. Row 0 is sampled; while the token drawn equals the proposal, the
   * next row is. Returns every token drawn: the accepted proposals, then the first token that differs from its
   * proposal (or the bonus token after the last row). Each is exactly the token sample() draws at its index from
   * that row (the draws are counter-based: same seed, index and logits, same token), so speculative output equals
   * plain output token for token, which preserves the target's distribution under any proposer.
   */
  verify(rows: Float32Array, proposed: readonly number[]): SampledToken[] {
    const vocab = this.workspace.vocabSize;
    this.checkRows(rows, proposed.length + 1);
    if (!this.verifies && proposed.length > 0) {
      throw new LlmError("failed_precondition", "a constrained sequence cannot verify proposals: send one row");
    }
    const tokens: SampledToken[] = [];
    for (let j = 0; j <= proposed.length; j++) {
      const row = rows.subarray(j * vocab, (j + 1) * vocab);
      const token = this.withLogprobs(row, this.choose(row, this.params));
      tokens.push(token);
      if (token.tokenId !== proposed[j]) break;
    }
    return tokens;
  }

  /**
   * A draft model's proposal `ahead` tokens past the next one: the token this sequence's strategy draws from the
   * draft's `logits` with the draws of that index, so that a draft close to the target proposes the token the
   * target will draw (coupled proposals; greedy: the draft's argmax). Nothing is recorded; penalties see the
   * history without the earlier proposals (a proposal only has to be likely, verify() keeps the output exact).
   */
  propose(logits: Float32Array, ahead: number): number {
    this.checkRows(logits, 1);
    return this.pick(logits, this.params, this.history.generatedLength + ahead, false);
  }

  /**
   * The same token as sample() on the full row, from the survivors of this sequence's candidate bound (see
   * SamplingStrategy.candidateBound): the strategy's sampleSurvivors takes them as they are; without one, they are
   * scattered into a row of -Infinity for its sample.
   */
  samplePruned(row: PrunedRow): SampledToken {
    const spec = this.pruneSpec;
    if (!spec) {
      throw new LlmError(
        "invalid_argument",
        `strategy "${this.params.strategy}" declared no candidate bound for these params: send the full row`,
      );
    }
    const problem = prunedRowProblem(row, this.workspace.vocabSize, spec);
    if (problem) throw new LlmError("invalid_argument", `pruned logits are malformed: ${problem}`);
    const { tokenIds, values, candidateCount } = row;
    let tokenId: number;
    if (this.strategy.sampleSurvivors) {
      const step = this.history.generatedLength;
      const context = { ...this.contextAt(step, this.params), tokenIds, values, count: candidateCount };
      tokenId = this.checked(this.strategy.sampleSurvivors(context));
      this.history.append(tokenId); // a bound is never declared for a constrained sequence: no matcher to follow
    } else {
      const sparse = this.workspace.sparseRow;
      for (let i = 0; i < candidateCount; i++) sparse[tokenIds[i]] = values[i];
      try {
        // topK = the survivors: a strategy's top-k scan then skips the -Infinity rest instead of weighing it.
        this.prunedParams.topK = candidateCount;
        tokenId = this.choose(sparse, this.prunedParams);
      } finally {
        for (let i = 0; i < candidateCount; i++) sparse[tokenIds[i]] = Number.NEGATIVE_INFINITY;
      }
    }
    if (!this.params.logprobs) return { tokenId };
    return { tokenId, ...prunedLogprobs(row, tokenId, this.params.topLogprobs) };
  }

  /** Throws unless `logits` holds `rows` rows of the vocabulary. */
  private checkRows(logits: Float32Array, rows: number): void {
    const vocab = this.workspace.vocabSize;
    if (logits.length === rows * vocab) return;
    const need =
      rows === 1 ? `the vocabulary has ${vocab}` : `${rows} rows of the ${vocab}-token vocabulary need ${rows * vocab}`;
    throw new LlmError("invalid_argument", `logits have ${logits.length} entries but ${need}`);
  }

  private withLogprobs(logits: Float32Array, tokenId: number): SampledToken {
    if (!this.params.logprobs) return { tokenId };
    return { tokenId, ...tokenLogprobs(logits, tokenId, this.params.topLogprobs, this.workspace.candidates) };
  }

  /** Draws the token at the current index and records it (history and constraint). */
  private choose(logits: Float32Array, params: ResolvedSamplingParams): number {
    const tokenId = this.pick(logits, params, this.history.generatedLength, true);
    this.matcher?.accept(tokenId);
    this.history.append(tokenId);
    return tokenId;
  }

  /** The strategy's token from `logits` with the draws of token index `step`. */
  private pick(logits: Float32Array, params: ResolvedSamplingParams, step: number, masked: boolean): number {
    const matcher = masked ? this.matcher : undefined;
    if (matcher) matcher.applyMask(logits, this.workspace.masked);
    const context = { ...this.contextAt(step, params), logits: matcher ? this.workspace.masked : logits };
    return this.checked(this.strategy.sample(context));
  }

  /** A strategy's context at token index `step`, but the row. */
  private contextAt(step: number, params: ResolvedSamplingParams): Omit<StrategyContext, "logits"> {
    const { workspace, history, rng } = this;
    const draws = rng.drawNoise(step);
    let drawn = 0;
    return { params, history, workspace, noise: rng.tokenNoise(step), random: () => draws.double(drawn++) };
  }

  /** `tokenId` when it is a token of the vocabulary: what a strategy must return. */
  private checked(tokenId: number): number {
    const vocabSize = this.workspace.vocabSize;
    if (!(Number.isInteger(tokenId) && tokenId >= 0 && tokenId < vocabSize)) {
      throw new LlmError(
        "internal",
        `strategy "${this.params.strategy}" returned ${tokenId}, not a token id in [0, ${vocabSize})`,
      );
    }
    return tokenId;
  }
}

/** tokenLogprobs from a pruned row: its sorted prefix holds the top alternatives, its normaliser the rest. */
function prunedLogprobs(row: PrunedRow, tokenId: number, topN: number): TokenLogprobs {
  const { tokenIds, values, candidateCount, logNormalizer } = row;
  let index = 0;
  while (index < candidateCount && tokenIds[index] !== tokenId) index++;
  if (index === candidateCount) throw new LlmError("internal", `token ${tokenId} is not among the pruned candidates`);
  const result: TokenLogprobs = { logprob: values[index] - logNormalizer };
  if (topN > 0) {
    const count = Math.min(topN, tokenIds.length);
    result.topLogprobs = Array.from({ length: count }, (_, i) => ({
      tokenId: tokenIds[i],
      logprob: values[i] - logNormalizer,
    }));
  }
  return result;
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
