// Candidate tokens of one step, kept in buffers allocated once per vocabulary and reused every step.
// Candidates are in no particular order (drawing does not need one); only where an order matters (top-p's
// boundary, reported alternatives) is it (logit descending, token id ascending), so ties go to lower ids.

export class Candidates {
  /** Token ids; the first `size` are the candidates. */
  readonly ids: Int32Array;
  /** exp((logit − best)/T): unnormalised probabilities, set by weighCandidates. */
  readonly weights: Float64Array;
  /** Scratch for the few ids whose exact order top-p needs. */
  readonly boundary: Int32Array;
  /** Scratch: each candidate's top-p histogram bin. */
  readonly bins: Uint16Array;
  size = 0;
  /** Largest logit among the candidates when they were weighed. */
  best = Number.NEGATIVE_INFINITY;

  constructor(capacity: number) {
    this.ids = new Int32Array(capacity);
    this.weights = new Float64Array(capacity);
    this.boundary = new Int32Array(capacity);
    this.bins = new Uint16Array(capacity);
  }

  /** Sum of the candidates' weights. */
  totalWeight(): number {
    let total = 0;
    for (let i = 0; i < this.size; i++) total += this.weights[i];
    return total;
  }

  /** The candidate ids as a plain array (tests, reporting). */
  toArray(): number[] {
    return Array.from(this.ids.subarray(0, this.size));
  }
}

/** Makes every token of the vocabulary a candidate. */
export function allCandidates(vocabSize: number, out: Candidates): void {
  const ids = out.ids;
  for (let i = 0; i < vocabSize; i++) ids[i] = i;
  out.size = vocabSize;
}

/**
 * Puts the ids of the `n` largest values into `out` (unordered) by one scan with a bounded min-heap: no sort
 * of the vocabulary. With `includeTies`, tokens outside the n that tie with the n-th value join too, so the
 * set does not depend on token numbering (Hugging Face and vLLM top-k keep ties the same way); without,
 * ties go to the lower ids.
 */
export function selectLargest(values: Float32Array, n: number, out: Candidates, includeTies: boolean): void {
  const count = Math.min(n, values.length);
  const heap = out.ids;
  let size = 0;
  // Outside tokens equal to the heap's root value. The root value only grows, so a count for an older,
  // smaller root can be dropped when it changes; at the end the count is valid iff it is for the final root.
  let tieValue = Number.NaN;
  let ties = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (size < count) {
      heap[size] = i;
      siftUp(values, heap, size);
      size++;
      continue;
    }
    const rootValue = values[heap[0]];
    if (v < rootValue) continue;
    if (rootValue !== tieValue) {
      tieValue = rootValue;
      ties = 0;
    }
    ties++; // Either i (a tie with the root that loses on id) or the evicted root now lies outside.
    if (v > rootValue) {
      heap[0] = i;
      siftDown(values, heap, size);
    }
  }
  out.size = size;
  if (includeTies && size > 0 && ties > 0 && values[heap[0]] === tieValue) collectAtLeast(values, tieValue, out);
}

/** Puts every id whose value is >= threshold into `out`, in id order. */
export function collectAtLeast(values: Float32Array, threshold: number, out: Candidates): void {
  let size = 0;
  const ids = out.ids;
  for (let i = 0; i < values.length; i++) {
    if (values[i] >= threshold) ids[size++] = i;
  }
  out.size = size;
}

/** Ids below this get the native sort: 32 bits of value rank and 21 of id fit a double's 53. */
const ID_LIMIT = 2 ** 21;
const floatBits = new Float32Array(1);
const uintBits = new Uint32Array(floatBits.buffer);

/**
 * Sorts ids in place by (value descending, id ascending). Each id becomes one number, its value's rank then the
 * id, for the typed array's native sort (several times faster than a comparator's); a NaN value keeps the
 * comparator.
 */
export function sortByValue(values: Float32Array, ids: Int32Array): void {
  const keys = new Float64Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    const value = values[id];
    if (Number.isNaN(value) || id >= ID_LIMIT) {
      ids.sort((a, b) => values[b] - values[a] || a - b);
      return;
    }
    keys[i] = descendingRank(value) * ID_LIMIT + id;
  }
  keys.sort();
  for (let i = 0; i < ids.length; i++) ids[i] = keys[i] % ID_LIMIT;
}

/** A float32's place from the largest value down, in [0, 2^32); -0 ranks with +0, as they compare equal. */
function descendingRank(value: number): number {
  floatBits[0] = value === 0 ? 0 : value;
  const bits = uintBits[0];
  // Sign and magnitude to one ascending unsigned order, then reversed.
  const ascending = bits >= 0x80000000 ? 0xffffffff - bits : bits + 0x80000000;
  return 0xffffffff - ascending;
}

/** "Worse" in candidate order: smaller value, or equal value and larger id. */
function worse(values: Float32Array, a: number, b: number): boolean {
  const va = values[a];
  const vb = values[b];
  return va < vb || (va === vb && a > b);
}

function siftUp(values: Float32Array, heap: Int32Array, index: number): void {
  const item = heap[index];
  let i = index;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!worse(values, item, heap[parent])) break;
    heap[i] = heap[parent];
    i = parent;
  }
  heap[i] = item;
}

function siftDown(values: Float32Array, heap: Int32Array, size: number): void {
  const item = heap[0];
  let i = 0;
  for (;;) {
    let child = 2 * i + 1;
    if (child >= size) break;
    if (child + 1 < size && worse(values, heap[child + 1], heap[child])) child++;
    if (!worse(values, heap[child], item)) break;
    heap[i] = heap[child];
    i = child;
  }
  heap[i] = item;
}
