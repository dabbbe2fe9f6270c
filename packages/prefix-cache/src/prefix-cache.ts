// Longest-prefix reuse over a block store: computes the chained keys of a prompt, finds how much of it
// is cached, and stores the full blocks of finished prompts.
import { type BlockKeyScope, blockKeys, DEFAULT_BLOCK_SIZE } from "./block-keys.js";
import type { BlockStore, BlockStoreStats, KvBlock } from "./store.js";

export interface PrefixMatch {
  /** Values of the longest cached prefix: `blocks.length * blockSize` tokens are reused. */
  blocks: KvBlock[];
  /** Number of prompt tokens covered by `blocks`. */
  tokens: number;
}

export interface PrefixCacheStats extends BlockStoreStats {
  blockSize: number;
  queries: number;
  /** Queries that reused at least one block. */
  hits: number;
  hitTokens: number;
}

export class PrefixCache {
  readonly blockSize: number;
  private queries = 0;
  private hits = 0;
  private hitTokens = 0;

  constructor(
    private readonly store: BlockStore,
    private readonly modelId: string,
    blockSize = DEFAULT_BLOCK_SIZE,
  ) {
    this.blockSize = blockSize;
  }

  keys(tokenIds: ArrayLike<number>, cacheSalt?: string): string[] {
    const scope: BlockKeyScope = { modelId: this.modelId, cacheSalt, blockSize: this.blockSize };
    return blockKeys(tokenIds, scope);
  }

  /** The longest cached prefix of a chain of keys from `keys()` (pass fewer keys to cap the reuse). */
  async lookup(keys: readonly string[]): Promise<PrefixMatch> {
    const blocks = keys.length === 0 ? [] : await this.store.getPrefix(keys);
    this.queries++;
    if (blocks.length > 0) this.hits++;
    const tokens = blocks.length * this.blockSize;
    this.hitTokens += tokens;
    return { blocks, tokens };
  }

  /** Stores blocks `from..from+values.length-1` of a chain whose keys came from `keys()`/`lookup()`. */
  async insert(keys: readonly string[], from: number, values: readonly KvBlock[]): Promise<void> {
    await this.store.put(values.map((value, i) => [keys[from + i], value] as const));
  }

  /** The most recently used keys this runner holds itself (for KV-aware routing). */
  recentKeys(limit: number): string[] {
    return this.store.recentKeys?.(limit) ?? [];
  }

  stats(): PrefixCacheStats {
    return {
      ...this.store.stats(),
      blockSize: this.blockSize,
      queries: this.queries,
      hits: this.hits,
      hitTokens: this.hitTokens,
    };
  }
}
