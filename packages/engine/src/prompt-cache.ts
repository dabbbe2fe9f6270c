// A request's prompt and the prefix cache: its leading blocks restored from the cache before prefill, and the
// blocks the cache did not have stored once the prompt is prefilled.
import type { PrefixCache } from "@llm/prefix-cache";
import { fromBlocks, type KvShape, KvState, toBlocks } from "./kv-state.js";
import type { Sequence } from "./sequence.js";

/** Computes the prompt's block keys and starts `seq` from the longest cached prefix (an empty KV without one). */
export async function restorePrefix<P>(seq: Sequence<P>, cache: PrefixCache, shape: KvShape): Promise<void> {
  const input = seq.inputIds;
  seq.blockKeys = cache.keys(input, seq.request.cacheSalt);
  // At least the last input token is always computed: its logits give the next output token.
  const reusable = Math.floor((input.length - 1) / cache.blockSize);
  const match = await cache.lookup(seq.blockKeys.slice(0, reusable));
  if (seq.state === "done") return; // cancelled while looking up
  seq.kv = match.blocks.length > 0 ? fromBlocks(shape, match.blocks, cache.blockSize) : KvState.empty(shape, 1);
  seq.kvLength = match.tokens;
  seq.cachedPromptTokens = match.tokens;
}

/** Stores the prompt's full blocks (from `kv`, its prefilled single-row state) that the cache does not have yet. */
export function rememberPrompt<P>(
  seq: Sequence<P>,
  kv: KvState,
  cache: PrefixCache,
  warn: (msg: string) => void,
): void {
  const from = seq.cachedPromptTokens / cache.blockSize;
  const to = seq.blockKeys.length;
  if (to <= from) return;
  const values = toBlocks(kv, from, to, cache.blockSize);
  cache.insert(seq.blockKeys, from, values).catch((error: unknown) => {
    warn(`prefix cache insert failed: ${error instanceof Error ? error.message : error}`);
  });
}
