// Prompt lookup (n-gram) proposals: no model. The sequence's last few tokens are searched for earlier in its own
// tokens (prompt and output); what followed the most recent, longest match is proposed. Pays off where the output
// copies its input: summaries, edits, code, extraction.

/** Longest and shortest suffix searched for (vLLM's prompt_lookup_max / _min). */
export const NGRAM_MAX = 4;
export const NGRAM_MIN = 1;

/**
 * Up to `k` tokens that followed the most recent earlier occurrence of the longest suffix of `tokens` (between
 * NGRAM_MIN and NGRAM_MAX tokens long) that occurs earlier; none when no suffix does.
 */
export function promptLookup(tokens: readonly number[], k: number): number[] {
  const n = tokens.length;
  if (k <= 0) return [];
  for (let size = Math.min(NGRAM_MAX, n - 1); size >= NGRAM_MIN; size--) {
    // The match must end before the suffix itself starts ending: start from the most recent candidate.
    for (let end = n - 1; end >= size; end--) {
      if (matchesSuffix(tokens, end, size)) return tokens.slice(end, Math.min(n, end + k));
    }
  }
  return [];
}

/** Whether tokens[end - size, end) equals the last `size` tokens (and is not that suffix itself). */
function matchesSuffix(tokens: readonly number[], end: number, size: number): boolean {
  const n = tokens.length;
  if (end === n) return false;
  for (let i = 1; i <= size; i++) if (tokens[end - i] !== tokens[n - i]) return false;
  return true;
}
