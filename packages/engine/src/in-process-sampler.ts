// The default sampler: the @llm/sampling library linked in-process, behind the engine's Sampler contract.
import { isBatchFailure, type Sampler as LibrarySampler, type SamplingParams } from "@llm/sampling";
import type { EngineSampler } from "./sampler.js";

export function inProcessSampler(library: LibrarySampler): EngineSampler<SamplingParams> {
  return {
    async open(seqId, params, promptIds, outputIds) {
      // A constraint compiles here, while the batch runs on without this sequence.
      const opened = await library.openSequence(seqId, {
        params,
        promptTokenIds: promptIds,
        outputTokenIds: outputIds,
      });
      return { verifies: opened.verifies };
    },
    async sample(batch) {
      await library.ready(); // constrained sequences' masks for this step
      const results = library.sampleBatch(
        batch.map(({ seqId, logits, proposed }) => ({ sequenceId: seqId, logits, proposed })),
      );
      return results.map((result) => {
        if (isBatchFailure(result)) return { error: result.error };
        const { sequenceId: _, ...token } = result;
        return token;
      });
    },
    propose(rows) {
      return library.propose(rows.map(({ seqId, logits, ahead }) => ({ sequenceId: seqId, logits, ahead })));
    },
    close(seqId) {
      library.close(seqId);
    },
  };
}
