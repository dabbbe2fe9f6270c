// The sampler holds no model, so runners send their vocabulary (once per sampler process) with
// PrepareConstraint; each vocabulary gets one ConstraintCompiler with its own cache of compiled constraints.
import { LlmError } from "@llm/errors";
import type { ConstraintVocabulary } from "@llm/proto";
import { ConstraintCompiler, type ConstraintCompilerOptions } from "@llm/sampling";

/** Vocabularies kept at once (one per model the sampler serves); the least recently used one goes first. */
const MAX_VOCABULARIES = 4;

export class ConstraintCompilers {
  private readonly compilers = new Map<string, Promise<ConstraintCompiler>>();

  constructor(private readonly options: ConstraintCompilerOptions) {}

  /** The compiler of vocabulary `id`, created from `vocabulary` when new; NOT_FOUND when neither is known. */
  async get(id: string, vocabulary?: ConstraintVocabulary): Promise<ConstraintCompiler> {
    let compiler = this.compilers.get(id);
    if (!compiler) {
      if (!vocabulary || vocabulary.id !== id) {
        throw new LlmError("not_found", `the sampler does not know vocabulary ${JSON.stringify(id)}: send it along`);
      }
      compiler = ConstraintCompiler.create(
        { id, tokens: vocabulary.tokens, stopTokenIds: vocabulary.stopTokenIds, vocabSize: vocabulary.vocabSize },
        this.options,
      );
      compiler.catch(() => this.compilers.delete(id));
    }
    this.compilers.delete(id); // re-inserted last: most recently used
    this.compilers.set(id, compiler);
    while (this.compilers.size > MAX_VOCABULARIES) {
      const oldest = this.compilers.keys().next().value as string;
      void this.compilers.get(oldest)?.then((evicted) => evicted.close());
      this.compilers.delete(oldest);
    }
    return compiler;
  }

  /** The compiler of a vocabulary already sent, or undefined. */
  known(id: string): Promise<ConstraintCompiler> | undefined {
    return this.compilers.get(id);
  }

  close(): void {
    for (const compiler of this.compilers.values()) void compiler.then((c) => c.close());
  }
}
