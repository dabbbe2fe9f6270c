// Open-addressing hash table from a pair of token ids to the merge's rank and result id.
// Typed arrays keep lookups allocation-free; a JS Map would need a non-SMI composite key.

const EMPTY = -1;
/** The rank of a pair that does not merge: above every real rank, so "lowest rank wins" skips it. */
export const NO_MERGE = 0x7fffffff;

export class MergeTable {
  private readonly mask: number;
  private readonly lefts: Int32Array;
  private readonly rights: Int32Array;
  private readonly ranks: Int32Array;
  private readonly results: Int32Array;

  constructor(capacityHint: number) {
    let capacity = 16;
    while (capacity < capacityHint * 2) capacity *= 2; // load factor ≤ 0.5 keeps probes short
    this.mask = capacity - 1;
    this.lefts = new Int32Array(capacity).fill(EMPTY);
    this.rights = new Int32Array(capacity);
    this.ranks = new Int32Array(capacity);
    this.results = new Int32Array(capacity);
  }

  private slotOf(left: number, right: number): number {
    return (Math.imul(left, 0x9e3779b1) ^ Math.imul(right, 0x85ebca6b)) >>> 0;
  }

  /** Adds a merge unless the pair already has one (the first, lowest-ranked merge wins, as in `tokenizers`). */
  add(left: number, right: number, rank: number, result: number): void {
    let slot = this.slotOf(left, right) & this.mask;
    while (this.lefts[slot] !== EMPTY) {
      if (this.lefts[slot] === left && this.rights[slot] === right) return;
      slot = (slot + 1) & this.mask;
    }
    this.lefts[slot] = left;
    this.rights[slot] = right;
    this.ranks[slot] = rank;
    this.results[slot] = result;
  }

  /** Slot of the merge for (left, right), or -1 when the pair does not merge. */
  find(left: number, right: number): number {
    let slot = this.slotOf(left, right) & this.mask;
    for (;;) {
      const stored = this.lefts[slot];
      if (stored === EMPTY) return -1;
      if (stored === left && this.rights[slot] === right) return slot;
      slot = (slot + 1) & this.mask;
    }
  }

  /** Rank of the merge for (left, right), or NO_MERGE. */
  rank(left: number, right: number): number {
    const slot = this.find(left, right);
    return slot < 0 ? NO_MERGE : this.ranks[slot];
  }

  /** Result id of the merge in `slot` (from find). */
  resultAt(slot: number): number {
    return this.results[slot];
  }
}
