export { type BlockKeyScope, blockKeys, DEFAULT_BLOCK_SIZE } from "./block-keys.js";
export { MemoryBlockStore } from "./memory-store.js";
export { PrefixCache, type PrefixCacheStats, type PrefixMatch } from "./prefix-cache.js";
export type { BlockStore, BlockStoreStats } from "./store.js";
