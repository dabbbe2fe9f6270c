// Constraints with a remote sampler: before a constrained sequence opens on the Sample stream, its constraint
// is compiled on the sampler by a PrepareConstraint call, which the engine awaits off its step loop. The sampler
// holds no model, so the runner's vocabulary goes along on the first call (and again if the sampler restarted).
import { LlmError } from "@llm/errors";
import type { SamplerService, SamplingParams } from "@llm/proto";
import type { ServiceClient } from "@llm/rpc";
import type { GrammarVocabulary } from "@llm/sampling";

export class RemoteConstraints {
  private vocabularySent = false;

  constructor(
    private readonly client: ServiceClient<typeof SamplerService>,
    private readonly vocabulary: GrammarVocabulary | undefined,
  ) {}

  /** Compiles `params.constraint` on the sampler; returns the vocabulary id the sequence must name. */
  async prepare(params: SamplingParams): Promise<string> {
    const { vocabulary } = this;
    if (!vocabulary) {
      throw new LlmError("invalid_argument", "constraints are not available: this runner has no vocabulary for them", {
        details: { field: "constraint" },
      });
    }
    const send = (withVocabulary: boolean) =>
      this.client.prepareConstraint({
        vocabularyId: vocabulary.id,
        params,
        vocabulary: withVocabulary
          ? {
              id: vocabulary.id,
              tokens: [...vocabulary.tokens],
              stopTokenIds: [...vocabulary.stopTokenIds],
              vocabSize: vocabulary.vocabSize,
            }
          : undefined,
      });
    try {
      await send(!this.vocabularySent);
    } catch (err) {
      if (!(err instanceof LlmError && err.code === "not_found")) throw err;
      await send(true); // a restarted sampler: it has forgotten the vocabulary
    }
    this.vocabularySent = true;
    return vocabulary.id;
  }
}
