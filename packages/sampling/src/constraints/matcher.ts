import { LlmError } from "@llm/errors";
import type { GrammarVocabulary } from "./vocabulary.js";
import { type CompiledGrammar, type GrammarMatcher, loadXGrammar } from "./xgrammar.js";

/**
 * One sequence's position in its constraint's language. After each accepted token the next token mask is
 * computed at once (XGrammar hands masks out through a promise), so it is ready before the next step's logits
 * arrive; `ready` settles when it is.
 */
export class ConstraintMatcher {
  private mask: Int32Array | undefined;
  private pending: Promise<void> | undefined;
  private failure: Error | undefined;

  private constructor(
    private readonly matcher: GrammarMatcher,
    private readonly stopTokenIds: readonly number[],
  ) {}

  static async start(grammar: CompiledGrammar, vocabulary: GrammarVocabulary): Promise<ConstraintMatcher> {
    const xgrammar = await loadXGrammar();
    const matcher = new ConstraintMatcher(
      await xgrammar.GrammarMatcher.createGrammarMatcher(grammar),
      vocabulary.stopTokenIds,
    );
    await matcher.refresh();
    return matcher;
  }

  /** Settles when the mask for the next token is known. */
  get ready(): Promise<void> | undefined {
    return this.pending;
  }

  get isTerminated(): boolean {
    return this.matcher.isTerminated();
  }

  /**
   * Writes `logits` into `out` with every token the grammar forbids here set to -Infinity. After the grammar
   * ended (a stop token was accepted) only stop tokens remain allowed.
   */
  applyMask(logits: Float32Array, out: Float32Array): void {
    if (this.failure) throw this.failure;
    if (this.matcher.isTerminated()) {
      out.fill(Number.NEGATIVE_INFINITY);
      for (const id of this.stopTokenIds) out[id] = logits[id];
      return;
    }
    const mask = this.mask;
    if (!mask) {
      throw new LlmError(
        "failed_precondition",
        "the constraint's token mask is not ready: await Sampler.ready() before sampling",
      );
    }
    applyBitmask(mask, logits, out);
  }

  /** Advances past `tokenId` and starts computing the next mask. */
  accept(tokenId: number): void {
    if (!this.matcher.acceptToken(tokenId)) {
      throw new LlmError("internal", `token ${tokenId} was sampled although the constraint forbids it`);
    }
    this.mask = undefined;
    if (!this.matcher.isTerminated()) this.pending = this.refresh();
  }

  /** Undoes the last `tokens` accepted tokens (speculative decoding's rejected drafts). */
  rollBack(tokens: number): void {
    this.matcher.rollBack(tokens);
    this.mask = undefined;
    this.pending = this.refresh();
  }

  dispose(): void {
    this.matcher.dispose();
  }

  private async refresh(): Promise<void> {
    try {
      this.mask = await this.matcher.getNextTokenBitmask();
    } catch (err) {
      this.failure = new LlmError("internal", `the constraint's mask failed: ${(err as Error).message}`);
    } finally {
      this.pending = undefined;
    }
  }
}

/** out[i] = logits[i] where bit i of the mask is set, else -Infinity; whole words at a time where they agree. */
export function applyBitmask(mask: Int32Array, logits: Float32Array, out: Float32Array): void {
  const size = logits.length;
  let allowed = 0;
  for (let word = 0; word < mask.length; word++) {
    const bits = mask[word];
    const start = word * 32;
    if (start >= size) break;
    const end = Math.min(start + 32, size);
    if (bits === 0) {
      out.fill(Number.NEGATIVE_INFINITY, start, end);
    } else if (bits === -1) {
      out.set(logits.subarray(start, end), start);
      allowed += end - start;
    } else {
      for (let id = start; id < end; id++) {
        const on = (bits >>> (id - start)) & 1;
        out[id] = on ? logits[id] : Number.NEGATIVE_INFINITY;
        allowed += on;
      }
    }
  }
  if (mask.length * 32 < size) out.fill(Number.NEGATIVE_INFINITY, mask.length * 32);
  if (allowed === 0) throw new LlmError("internal", "the constraint allows no token here");
}
