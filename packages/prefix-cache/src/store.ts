// The tier-agnostic contract of a prefix-cache tier. A block value is one block's K/V for every layer,
// as float32 (layout chosen by the engine; a tier only stores bytes). Async so that a remote tier
// (Redis) fits behind the same interface as the in-memory one.

export interface BlockStoreStats {
  /** Which tier this is ("memory", "redis", ...). */
  tier: string;
  blocks: number;
  bytes: number;
  maxBytes: number;
  evictions: number;
  /** Set by stores with a shared tier behind them (Redis): what this runner did with it. */
  shared?: SharedTierStats;
}

export interface SharedTierStats {
  /** Blocks this runner took from the shared tier (each one then promoted into memory). */
  hitBlocks: number;
  writtenBlocks: number;
  /** Blocks not written because the shared tier failed or fell too far behind. */
  droppedBlocks: number;
  /** Failed lookups and writes; each one degraded to a miss or a dropped write. */
  errors: number;
}

/**
 * One block's values in the model's KV dtype: float32, or float16 as IEEE half bits (a Uint16Array; Node 20 has no
 * Float16Array). Tiers keep a block's dtype, so an fp16 model's blocks take half the bytes everywhere.
 */
export type KvBlock = Float32Array | Uint16Array;

export interface BlockStore {
  /**
   * The values of the longest prefix of `keys` that the tier holds, in order: the walk stops at the
   * first missing key, because a block is only usable when all blocks before it are.
   */
  getPrefix(keys: readonly string[]): Promise<KvBlock[]>;
  /** Stores blocks; keys already present are kept (same key = same content). */
  put(entries: ReadonlyArray<readonly [key: string, value: KvBlock]>): Promise<void>;
  stats(): BlockStoreStats;
  /** Keys of this runner's own (memory) tier, most recently used first: what it publishes as "hot". */
  recentKeys?(limit: number): string[];
}
