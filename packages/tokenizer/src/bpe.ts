// The BPE merge loop over token ids: repeatedly merge the lowest-ranked adjacent pair (leftmost on
// ties), exactly as Hugging Face `tokenizers` orders merges. Short words use a linear scan (fastest
// for the few symbols of a typical word); long ones a min-heap, so a 10k-byte word is not quadratic.
import { type MergeTable, NO_MERGE } from "./merge-table.js";

/** Above this many symbols the heap wins over rescanning the word after every merge. */
const LINEAR_LIMIT = 96;
/** Heap keys pack rank and position into one float64: rank * POSITION_SPAN + position. */
const POSITION_SPAN = 2 ** 25;
export const MAX_WORD_SYMBOLS = POSITION_SPAN;

export class BpeMerger {
  private ranks = new Int32Array(LINEAR_LIMIT);

  constructor(private readonly merges: MergeTable) {}

  /** Merges `symbols[0..length)` in place and returns the new length. */
  merge(symbols: Int32Array, length: number): number {
    return length <= LINEAR_LIMIT ? this.mergeLinear(symbols, length) : this.mergeWithHeap(symbols, length);
  }

  /** Linear scan; exported through `merge` and tested against the heap version. */
  mergeLinear(symbols: Int32Array, length: number): number {
    const merges = this.merges;
    if (this.ranks.length < length) this.ranks = new Int32Array(length);
    const ranks = this.ranks;
    let n = length;
    for (let i = 0; i < n - 1; i++) ranks[i] = merges.rank(symbols[i], symbols[i + 1]);
    while (n > 1) {
      let best = NO_MERGE;
      let at = -1;
      for (let i = 0; i < n - 1; i++) {
        if (ranks[i] < best) {
          best = ranks[i];
          at = i;
        }
      }
      if (at < 0) break;
      symbols[at] = merges.resultAt(merges.find(symbols[at], symbols[at + 1]));
      for (let i = at + 1; i < n - 1; i++) {
        symbols[i] = symbols[i + 1];
        ranks[i] = ranks[i + 1];
      }
      n--;
      if (at > 0) ranks[at - 1] = merges.rank(symbols[at - 1], symbols[at]);
      if (at < n - 1) ranks[at] = merges.rank(symbols[at], symbols[at + 1]);
    }
    return n;
  }

  /** Heap of candidate pairs with lazy deletion over a linked list of symbols. */
  mergeWithHeap(symbols: Int32Array, length: number): number {
    const merges = this.merges;
    const next = new Int32Array(length);
    const prev = new Int32Array(length);
    const heap = new MinHeap(length);
    for (let i = 0; i < length; i++) {
      next[i] = i + 1;
      prev[i] = i - 1;
      if (i + 1 < length) {
        const rank = merges.rank(symbols[i], symbols[i + 1]);
        if (rank !== NO_MERGE) heap.push(rank * POSITION_SPAN + i);
      }
    }
    while (heap.size > 0) {
      const key = heap.pop();
      const rank = Math.floor(key / POSITION_SPAN);
      const at = key - rank * POSITION_SPAN;
      const right = next[at];
      // Stale entry: its left symbol was absorbed, or its pair changed since it was queued.
      if (symbols[at] < 0 || right >= length || merges.rank(symbols[at], symbols[right]) !== rank) continue;
      symbols[at] = merges.resultAt(merges.find(symbols[at], symbols[right]));
      symbols[right] = -1;
      next[at] = next[right];
      if (next[at] < length) prev[next[at]] = at;
      const before = prev[at];
      if (before >= 0) {
        const leftRank = merges.rank(symbols[before], symbols[at]);
        if (leftRank !== NO_MERGE) heap.push(leftRank * POSITION_SPAN + before);
      }
      if (next[at] < length) {
        const rightRank = merges.rank(symbols[at], symbols[next[at]]);
        if (rightRank !== NO_MERGE) heap.push(rightRank * POSITION_SPAN + at);
      }
    }
    let n = 0;
    for (let i = 0; i < length; i = next[i]) symbols[n++] = symbols[i];
    return n;
  }
}

class MinHeap {
  private keys: Float64Array;
  size = 0;

  constructor(capacity: number) {
    this.keys = new Float64Array(Math.max(capacity, 16));
  }

  push(key: number): void {
    if (this.size === this.keys.length) {
      const grown = new Float64Array(this.keys.length * 2);
      grown.set(this.keys);
      this.keys = grown;
    }
    const keys = this.keys;
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (keys[parent] <= key) break;
      keys[i] = keys[parent];
      i = parent;
    }
    keys[i] = key;
  }

  pop(): number {
    const keys = this.keys;
    const top = keys[0];
    const last = keys[--this.size];
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= this.size) break;
      if (child + 1 < this.size && keys[child + 1] < keys[child]) child++;
      if (keys[child] >= last) break;
      keys[i] = keys[child];
      i = child;
    }
    keys[i] = last;
    return top;
  }
}
