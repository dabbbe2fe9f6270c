import { LlmError } from "@llm/errors";
import { CompileProbe } from "./compile-probe.js";
import { type Constraint, compileWith } from "./grammar-source.js";
import { ConstraintMatcher } from "./matcher.js";
import { checkConstraint, constraintKey } from "./spec.js";
import { type GrammarVocabulary, tokenizerInfoOf } from "./vocabulary.js";
import { type CompiledGrammar, type GrammarCompiler, loadXGrammar } from "./xgrammar.js";

export interface ConstraintCompilerOptions {
  /** Compiled grammars kept (least recently used dropped first). Default 256. */
  cacheEntries?: number;
  /** A grammar that does not compile within this is refused (invalid_argument). Default 2000 ms; 0 disables. */
  compileTimeoutMs?: number;
}

export interface CompileStats {
  compiled: number;
  cacheHits: number;
  cached: number;
}

/**
 * Compiles constraints against one vocabulary and caches the results per constraint (a compiler serves one
 * vocabulary, so the cache key is (vocabulary, constraint)). Concurrent requests for the same constraint
 * share one compile.
 */
export class ConstraintCompiler {
  private readonly cache = new Map<string, Promise<CompiledGrammar>>();
  private readonly cacheEntries: number;
  private readonly counts = { compiled: 0, cacheHits: 0 };

  private constructor(
    readonly vocabulary: GrammarVocabulary,
    private readonly compiler: GrammarCompiler,
    private readonly probe: CompileProbe | undefined,
    options: ConstraintCompilerOptions,
  ) {
    this.cacheEntries = options.cacheEntries ?? 256;
  }

  static async create(
    vocabulary: GrammarVocabulary,
    options: ConstraintCompilerOptions = {},
  ): Promise<ConstraintCompiler> {
    const xgrammar = await loadXGrammar();
    // XGrammar's own cache is off: this one is bounded and keyed the same way in every process.
    const compiler = await xgrammar.GrammarCompiler.createGrammarCompiler(await tokenizerInfoOf(vocabulary), false);
    const timeoutMs = options.compileTimeoutMs ?? 2000;
    const probe = timeoutMs > 0 ? new CompileProbe(vocabulary, timeoutMs) : undefined;
    return new ConstraintCompiler(vocabulary, compiler, probe, options);
  }

  get stats(): CompileStats {
    return { ...this.counts, cached: this.cache.size };
  }

  /** The compiled grammar for `spec` (cached); rejects with invalid_argument naming what is wrong. */
  compile(spec: Constraint): Promise<CompiledGrammar> {
    checkConstraint(spec);
    const key = constraintKey(spec);
    const cached = this.cache.get(key);
    if (cached) {
      this.counts.cacheHits++;
      this.cache.delete(key); // re-inserted last: most recently used
      this.cache.set(key, cached);
      return cached;
    }
    const compiled = this.compileUncached(spec);
    this.cache.set(key, compiled);
    compiled.catch(() => this.cache.delete(key)); // failures are not cached
    while (this.cache.size > this.cacheEntries) {
      const oldest = this.cache.keys().next().value as string;
      const evicted = this.cache.get(oldest);
      this.cache.delete(oldest);
      // Matchers hold their own reference to the grammar; the delay lets a matcher() already awaiting it start.
      evicted?.then(
        (grammar) => setTimeout(() => grammar.dispose(), 1000).unref(),
        () => {},
      );
    }
    return compiled;
  }

  /** A fresh matcher at the start of `spec`'s language, with its first mask ready. */
  async matcher(spec: Constraint): Promise<ConstraintMatcher> {
    return ConstraintMatcher.start(await this.compile(spec), this.vocabulary);
  }

  close(): void {
    this.probe?.close();
  }

  private async compileUncached(spec: Constraint): Promise<CompiledGrammar> {
    await this.probe?.check(spec);
    this.counts.compiled++;
    try {
      return await compileWith(this.compiler, spec);
    } catch (err) {
      throw new LlmError("invalid_argument", `constraint (${spec.case}) cannot be compiled: ${errorText(err)}`, {
        details: { field: "constraint" },
      });
    }
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
