// Memory in front of a shared tier: lookups walk memory, then ask the shared tier only for the blocks
// after memory's match, and promote what it returns; writes land in memory at once and go to the shared
// tier in the background (the caller never waits for Redis). The shared store must absorb its own
// failures (RedisBlockStore's put never rejects; its lookups degrade to misses).
import type { BlockStore, BlockStoreStats, KvBlock } from "./store.js";

export class TieredBlockStore implements BlockStore {
  constructor(
    private readonly memory: BlockStore,
    private readonly shared: BlockStore,
  ) {}

  async getPrefix(keys: readonly string[]): Promise<KvBlock[]> {
    const local = await this.memory.getPrefix(keys);
    if (local.length === keys.length) return local;
    const rest = keys.slice(local.length);
    const remote = await this.shared.getPrefix(rest);
    if (remote.length === 0) return local;
    await this.memory.put(remote.map((value, i) => [rest[i], value] as const));
    return [...local, ...remote];
  }

  async put(entries: ReadonlyArray<readonly [key: string, value: KvBlock]>): Promise<void> {
    await this.memory.put(entries);
    void this.shared.put(entries);
  }

  recentKeys(limit: number): string[] {
    return this.memory.recentKeys?.(limit) ?? [];
  }

  stats(): BlockStoreStats {
    const shared = this.shared.stats();
    return { ...this.memory.stats(), tier: `memory+${shared.tier}`, shared: shared.shared };
  }
}
