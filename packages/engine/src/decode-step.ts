// A step's decode forward: every row's pending token, and for the rows that speculate this step their proposals
// after it (one forward for the whole batch; rows with fewer proposals are padded, and their extra positions are
// rolled back with the rejected ones when the batch settles).
import { argmax } from "@llm/sampling";
import type { DecodeBatch } from "./decode-batch.js";
import type { Decoder } from "./decoder.js";
import type { EngineSampler, ProposalInput } from "./sampler.js";
import type { Sequence } from "./sequence.js";
import type { Speculator } from "./speculation/speculator.js";
import type { StepRecord } from "./step-report.js";

/** A row whose logits go to the sampler this step. */
export interface Produced<P> {
  seq: Sequence<P>;
  /** One row, or one per proposal plus one. */
  logits: Float32Array;
  /** A float16 graph's: the same rows as half bits. */
  half?: Uint16Array;
  /** A decode row's proposals (a prefill's first token has none). */
  proposed?: readonly number[];
  /** A decode row: each token drawn keeps one more of the step's positions. */
  decoding: boolean;
}

export async function decodeRows<P>(
  batch: DecodeBatch<Sequence<P>>,
  decoder: Decoder,
  speculator: Speculator,
  sampler: EngineSampler<P>,
  record: StepRecord,
): Promise<Produced<P>[]> {
  const remaining = (seq: Sequence<unknown>) => seq.request.maxTokens - seq.generated;
  // The sampler's coupled draws from the draft's rows, or else the draft's most likely tokens.
  const choose = async (rows: readonly ProposalInput[]) =>
    sampler.propose ? sampler.propose(rows) : rows.map(({ logits }) => argmax(logits));
  const proposals = await speculator.plan(batch.liveRows(), remaining, choose);
  const lookahead = Math.max(0, ...[...proposals.values()].map((tokens) => tokens.length));
  const width = 1 + lookahead;
  const started = performance.now();
  const decoded = await batch.step(decoder, {
    width,
    allLogits: width > 1,
    tokens: (seq) => {
      const proposed = proposals.get(seq) ?? [];
      const padding = new Array<number>(width - 1 - proposed.length).fill(seq.pendingToken);
      return [seq.pendingToken, ...proposed, ...padding];
    },
  });
  speculator.observeModelStep(decoded.length * width, performance.now() - started);
  const proposedTokens = [...proposals.values()].reduce((sum, tokens) => sum + tokens.length, 0);
  record.decoded(
    decoded.map(({ row }) => row.id),
    lookahead,
    proposedTokens,
  );
  return decoded.map(({ row: seq, logits, half }) => {
    const proposed = proposals.get(seq) ?? [];
    const width = (proposed.length + 1) * decoder.vocabSize;
    return { seq, logits: logits.subarray(0, width), half: half?.subarray(0, width), proposed, decoding: true };
  });
}
