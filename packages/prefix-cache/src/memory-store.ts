// The runner-memory tier: an LRU bounded by bytes.
import type { BlockStore, BlockStoreStats, KvBlock } from "./store.js";

export class MemoryBlockStore implements BlockStore {
  // A Map iterates in insertion order: re-inserting on use makes its first entry the least recently used.
  private readonly blocks = new Map<string, KvBlock>();
  private bytes = 0;
  private evictions = 0;

  constructor(private readonly maxBytes: number) {
    if (!(maxBytes >= 0)) throw new RangeError(`prefix cache maxBytes must be >= 0, got ${maxBytes}`);
  }

  async getPrefix(keys: readonly string[]): Promise<KvBlock[]> {
    const found: KvBlock[] = [];
    for (const key of keys) {
      const value = this.blocks.get(key);
      if (value === undefined) break;
      found.push(value);
    }
    this.touchChain(keys.slice(0, found.length));
    return found;
  }

  async put(entries: ReadonlyArray<readonly [key: string, value: KvBlock]>): Promise<void> {
    // Reverse order, like touchChain: the chain's first block ends up most recent.
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, value] = entries[i];
      if (this.blocks.has(key)) {
        this.refresh(key);
        continue;
      }
      if (value.byteLength > this.maxBytes) continue;
      this.blocks.set(key, value);
      this.bytes += value.byteLength;
    }
    this.evictToLimit();
  }

  recentKeys(limit: number): string[] {
    const keys = [...this.blocks.keys()];
    return keys.slice(Math.max(0, keys.length - limit)).reverse();
  }

  stats(): BlockStoreStats {
    return {
      tier: "memory",
      blocks: this.blocks.size,
      bytes: this.bytes,
      maxBytes: this.maxBytes,
      evictions: this.evictions,
    };
  }

  // Refresh a chain from its last block to its first, so parents are evicted after their children:
  // a child without its parent can never be matched, the reverse is still useful.
  private touchChain(keys: readonly string[]): void {
    for (let i = keys.length - 1; i >= 0; i--) this.refresh(keys[i]);
  }

  private refresh(key: string): void {
    const value = this.blocks.get(key);
    if (value === undefined) return;
    this.blocks.delete(key);
    this.blocks.set(key, value);
  }

  private evictToLimit(): void {
    for (const [key, value] of this.blocks) {
      if (this.bytes <= this.maxBytes) return;
      this.blocks.delete(key);
      this.bytes -= value.byteLength;
      this.evictions++;
    }
  }
}
