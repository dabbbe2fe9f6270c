export { BLOCK_DTYPES, type BlockDtype, decodeBlock, encodeBlock } from "./block-codec.js";
export { type BlockKeyScope, blockKeys, DEFAULT_BLOCK_SIZE } from "./block-keys.js";
export { fromFloat16, toFloat16 } from "./float16.js";
export {
  HotBlockPublisher,
  type HotBlockPublisherOptions,
  hotSetKey,
  type RunnerHeartbeat,
  type RunnerLoad,
  runnersKey,
} from "./hot-blocks.js";
export { KvRouter, type KvRouterOptions, type Route } from "./kv-router.js";
export { MemoryBlockStore } from "./memory-store.js";
export { PrefixCache, type PrefixCacheStats, type PrefixMatch } from "./prefix-cache.js";
export { connectSharedTier, RedisBlockStore, type RedisBlockStoreOptions, type WarnLogger } from "./redis-store.js";
export {
  connectRedis,
  type RedisClient,
  type RedisClientOptions,
  type RedisTarget,
  redisTarget,
} from "./redis-target.js";
export type { BlockStore, BlockStoreStats, KvBlock, SharedTierStats } from "./store.js";
export { TieredBlockStore } from "./tiered-store.js";
