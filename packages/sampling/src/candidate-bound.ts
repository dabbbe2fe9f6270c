// Exact candidate pruning. A strategy may declare that its token depends only on the tokens surviving a
// truncation of the raw logits (temperature 0: the best token and its ties; else top-k → top-p → min-p, the
// standard pipeline's). The runner then computes those survivors with the very functions the sampler would
// run and sends only them (plus the top_logprobs tokens and the row's log-sum-exp): the sampler gets the
// same weights for the same ids, so the same token, bit for bit.
import { type Candidates, selectLargest, sortByValue } from "./candidates.js";
import { logSumExp } from "./fast-exp.js";
import { truncateMinP, weighCandidates, weighVocabulary } from "./selection.js";
import { truncateTopP, truncateVocabularyTopP } from "./top-p.js";
import type { Workspace } from "./workspace.js";

/** The truncation a strategy's token depends on; tokens outside it never matter. */
export interface CandidateBound {
  /** 0: only the most likely token and its ties survive. */
  readonly temperature: number;
  readonly topK: number;
  readonly topP: number;
  readonly minP: number;
}

/** A bound plus what logprobs need: what the runner prunes a row with. */
export interface PruneSpec extends CandidateBound {
  readonly logprobs: boolean;
  readonly topLogprobs: number;
}

/** One row pruned to the tokens that can matter, sorted by (logit descending, id ascending). */
export interface PrunedRow {
  readonly tokenIds: ArrayLike<number>;
  readonly values: Float32Array;
  /** The first candidateCount entries are the bound's survivors; the rest serve top_logprobs only. */
  readonly candidateCount: number;
  /** log Σ exp(logit) over the whole row (0 when logprobs are not wanted). */
  readonly logNormalizer: number;
}

/**
 * Leaves in `workspace.candidates` the tokens surviving top-k → top-p → min-p at `bound.temperature` (> 0),
 * weighed. Weighing after top-k makes top-p's mass relative to the top-k set, as in Hugging Face.
 */
export function truncateCandidates(logits: Float32Array, bound: CandidateBound, workspace: Workspace): Candidates {
  const { temperature, topK, topP, minP } = bound;
  const inverseTemperature = 1 / temperature;
  const { candidates, massHistogram } = workspace;
  if (topK > 0 && topK < logits.length) {
    selectLargest(logits, topK, candidates, true);
    weighCandidates(logits, candidates, inverseTemperature);
    if (topP < 1) truncateTopP(logits, candidates, inverseTemperature, topP, massHistogram);
  } else if (topP < 1) {
    truncateVocabularyTopP(logits, candidates, inverseTemperature, topP, massHistogram);
  } else {
    weighVocabulary(logits, candidates, inverseTemperature);
  }
  if (minP > 0) truncateMinP(candidates, minP);
  return candidates;
}

/**
 * The survivors of `spec` and the top_logprobs tokens of one row. Both sets are prefixes of the row in
 * (logit descending, id ascending) order (every filter keeps or drops ties together), so their union is the
 * longer prefix.
 */
export function pruneRow(logits: Float32Array, spec: PruneSpec, workspace: Workspace): PrunedRow {
  const candidates = workspace.candidates;
  if (spec.temperature === 0) collectBest(logits, candidates);
  else truncateCandidates(logits, spec, workspace);
  const candidateCount = candidates.size;
  if (spec.topLogprobs > candidateCount) selectLargest(logits, spec.topLogprobs, candidates, false);
  const tokenIds = candidates.ids.slice(0, candidates.size);
  sortByValue(logits, tokenIds);
  const values = new Float32Array(tokenIds.length);
  for (let i = 0; i < tokenIds.length; i++) values[i] = logits[tokenIds[i]];
  return { tokenIds, values, candidateCount, logNormalizer: spec.logprobs ? logSumExp(logits) : 0 };
}

/** The largest value's ids (it and its ties) in one pass: what greedy's argmax chooses among. */
function collectBest(values: Float32Array, out: Candidates): void {
  const ids = out.ids;
  let best = Number.NEGATIVE_INFINITY;
  let size = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < best) continue;
    if (v > best) {
      best = v;
      size = 0;
    }
    ids[size++] = i;
  }
  out.size = size;
}

/** Why `row` cannot stand for a row of `vocabSize` pruned by `spec`; undefined when it can. */
export function prunedRowProblem(row: PrunedRow, vocabSize: number, spec: PruneSpec): string | undefined {
  const size = row.tokenIds.length;
  if (row.values.length !== size) return `${size} token ids but ${row.values.length} values`;
  if (!(row.candidateCount >= 1 && row.candidateCount <= size)) {
    return `candidate count ${row.candidateCount} is outside [1, ${size}]`;
  }
  if (size < Math.min(spec.topLogprobs, vocabSize)) return `${size} tokens, fewer than top_logprobs`;
  for (let i = 0; i < size; i++) {
    const id = row.tokenIds[i];
    if (!(Number.isInteger(id) && id >= 0 && id < vocabSize)) return `token id ${id} is outside [0, ${vocabSize})`;
  }
  return undefined;
}
