import { type Candidates, selectLargest, sortByValue } from "./candidates.js";
import { logSumExp } from "./fast-exp.js";

// Logprobs are reported under the MODEL's distribution: log-softmax of the raw logits, before bias,
// penalties, temperature and truncation (vLLM's default "raw_logprobs"; OpenAI's logprobs likewise do not
// move with temperature). So they mean the same thing whatever strategy or knobs a request uses, and a
// greedy or truncated pick still gets a finite, comparable number.

export interface TopLogprob {
  tokenId: number;
  logprob: number;
}

export interface TokenLogprobs {
  logprob: number;
  /** The `topN` most likely tokens, best first (ties: lower id first); absent when topN is 0. */
  topLogprobs?: TopLogprob[];
}

export function tokenLogprobs(logits: Float32Array, tokenId: number, topN: number, scratch: Candidates): TokenLogprobs {
  const normaliser = logSumExp(logits);
  const result: TokenLogprobs = { logprob: logits[tokenId] - normaliser };
  if (topN > 0) {
    selectLargest(logits, topN, scratch, false);
    const best = scratch.ids.subarray(0, scratch.size);
    sortByValue(logits, best);
    result.topLogprobs = Array.from(best, (id) => ({ tokenId: id, logprob: logits[id] - normaliser }));
  }
  return result;
}
