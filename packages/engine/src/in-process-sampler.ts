// The default sampler: the @llm/sampling library linked in-process, behind the engine's Sampler contract.
import { isBatchFailure, type Sampler as LibrarySampler, type SamplingParams } from "@llm/sampling";
import type { EngineSampler } from "./sampler.js";

export function inProcessSampler(library: LibrarySampler): EngineSampler<SamplingParams> {
  return {
    open(seqId, params, promptIds, outputIds) {
      library.open(seqId, { params, promptTokenIds: promptIds, outputTokenIds: outputIds });
    },
    sample(batch) {
      const results = library.sampleBatch(batch.map(({ seqId, logits }) => ({ sequenceId: seqId, logits })));
      return results.map((result) =>
        isBatchFailure(result)
          ? { error: result.error }
          : { tokenId: result.tokenId, logprob: result.logprob, topLogprobs: result.topLogprobs },
      );
    },
    close(seqId) {
      library.close(seqId);
    },
  };
}
