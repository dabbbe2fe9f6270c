// The running sequences' shared KV batch (rows left-padded, or right-padded in a shared buffer: the
// decoder's RowLayout). A decode step's present becomes the next step's past as it is (no copy); a group is
// only re-gathered when sequences join or leave it.
//
// Batch invariance: a left-padded row gives bitwise the logits it gives alone only when its padding is a
// multiple of the decoder's `paddingPeriod` (ONNX Runtime's reductions over positions run in SIMD lanes; see
// Decoder.paddingPeriod). So rows are grouped by their length modulo the period, each group its own forward:
// within a group every padding is a multiple of it. Lengths all grow by one a step, so a row never changes group.
import type { Decoder, RowLayout } from "./decoder.js";
import type { KvShape, KvState, RowSlice } from "./kv-state.js";
import type { Sequence } from "./sequence.js";

export interface DecodedRow<P> {
  seq: Sequence<P>;
  /** The row's last-position logits (vocab-sized view). */
  logits: Float32Array;
}

export class DecodeBatch<P> {
  private groups: RowGroup<P>[] = [];

  constructor(
    private readonly shape: KvShape,
    /** The decoder's: where rows keep their positions. */
    private readonly layout: RowLayout,
    /** Rows share a forward only when their lengths agree modulo this. */
    private readonly period: number,
  ) {}

  get size(): number {
    return this.groups.reduce((rows, group) => rows + group.size, 0);
  }

  get bytes(): number {
    return this.groups.reduce((bytes, group) => bytes + group.bytes, 0);
  }

  /** Drops finished rows and adds sequences whose prefill just ended, each to the group of its length class. */
  update(joining: readonly Sequence<P>[]): void {
    const joiners = new Map<RowGroup<P>, Sequence<P>[]>();
    for (const seq of joining) {
      const lengthClass = seq.kvLength % this.period;
      let group = this.groups.find((g) => g.lengthClass(this.period) === lengthClass);
      if (!group) {
        group = new RowGroup(this.shape, this.layout);
        this.groups.push(group);
      }
      joiners.set(group, [...(joiners.get(group) ?? []), seq]);
    }
    for (const group of this.groups) group.update(joiners.get(group) ?? []);
    this.groups = this.groups.filter((group) => group.size > 0);
  }

  /**
   * One batched forward per group of every row's pending token. The groups' forwards run at once (ONNX Runtime runs
   * concurrent calls on one session), so a step waits for one hand-off to its threads, not one per group.
   */
  async step(decoder: Decoder): Promise<DecodedRow<P>[]> {
    return (await Promise.all(this.groups.map((group) => group.step(decoder)))).flat();
  }
}

/** Rows that decode in one forward over one KV state. */
class RowGroup<P> {
  private rows: Sequence<P>[] = [];
  private kv: KvState | undefined;

  constructor(
    private readonly shape: KvShape,
    private readonly layout: RowLayout,
  ) {}

  get size(): number {
    return this.rows.length;
  }

  get bytes(): number {
    return this.kv?.bytes ?? 0;
  }

  /** Its rows' lengths modulo `period` (all equal); -1 while it holds none yet. */
  lengthClass(period: number): number {
    const first = this.rows.find((seq) => seq.state === "decode");
    return first === undefined ? -1 : first.kvLength % period;
  }

  update(joining: readonly Sequence<P>[]): void {
    const staying = this.rows.filter((seq) => seq.state === "decode");
    if (staying.length === this.rows.length && joining.length === 0) return;
    const slices: RowSlice[] = [];
    this.rows.forEach((seq, row) => {
      if (seq.state !== "decode" || this.kv === undefined) return;
      slices.push({
        state: this.kv,
        row,
        start: this.layout.start(this.kv.length, seq.kvLength),
        length: seq.kvLength,
      });
    });
    for (const seq of joining) {
      if (seq.kv === undefined) throw new Error(`sequence ${seq.id} joined the decode batch without its KV`);
      slices.push({ state: seq.kv, row: 0, start: 0, length: seq.kvLength });
      seq.kv = undefined;
    }
    this.rows = [...staying, ...joining];
    const length = Math.max(0, ...this.rows.map((seq) => seq.kvLength));
    this.kv = this.rows.length === 0 ? undefined : this.layout.gather(this.shape, slices, length, this.kv);
  }

  async step(decoder: Decoder): Promise<DecodedRow<P>[]> {
    if (this.kv === undefined) return [];
    const rows = this.rows;
    const { logits, present } = await decoder.forward({
      tokenIds: rows.map((seq) => seq.pendingToken),
      newTokens: 1,
      past: this.kv,
      pastLengths: rows.map((seq) => seq.kvLength),
    });
    this.kv = present;
    for (const seq of rows) seq.kvLength++;
    const vocab = decoder.vocabSize;
    return rows.map((seq, r) => ({ seq, logits: logits.subarray(r * vocab, (r + 1) * vocab) }));
  }
}
