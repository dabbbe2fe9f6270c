export { BLOCK_DTYPES, type BlockDtype, decodeBlock, encodeBlock } from "./block-codec.js";
export { type BlockKeyScope, blockKeys, DEFAULT_BLOCK_SIZE } from "./block-keys.js";
export { fromFloat16, toFloat16 } from "./float16.js";
export { MemoryBlockStore } from "./memory-store.js";
export { PrefixCache, type PrefixCacheStats, type PrefixMatch } from "./prefix-cache.js";
export { connectSharedTier, RedisBlockStore, type RedisBlockStoreOptions } from "./redis-store.js";
export type { BlockStore, BlockStoreStats, KvBlock, SharedTierStats } from "./store.js";
export { TieredBlockStore } from "./tiered-store.js";
