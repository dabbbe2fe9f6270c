// The running sequences' shared KV batch (rows left-padded, or right-padded in a shared buffer: the
// decoder's RowLayout). A decode step's present becomes the next step's past as it is (no copy); a group is
// only re-gathered when rows join or leave it, or when a speculative step rolled some rows back.
//
// Batch invariance: a left-padded row gives bitwise the logits it gives alone only when its padding is a
// multiple of the decoder's `paddingPeriod` (ONNX Runtime's reductions over positions run in SIMD lanes; see
// Decoder.paddingPeriod). So rows are grouped by their length modulo the period, each group its own forward:
// within a group every padding is a multiple of it. A plain step grows every length by one, so a row never
// changes group; a speculative step keeps a different number of positions per row, and settle() regroups them.
import type { Decoder, RowLayout } from "./decoder.js";
import type { KvShape, KvState, RowSlice } from "./kv-state.js";

/** What the batch needs of a row: the target's sequences, or a draft model's rows beside them. */
export interface BatchRow {
  readonly id: string;
  /** The batch drops the row at its next update once this is false. */
  readonly live: boolean;
  /** Positions whose K/V are computed; the batch's owner sets it after each step (kept positions). */
  kvLength: number;
  /** A single-row state the row joins with (see DecodeBatch.update); the batch holds it afterwards. */
  kv: KvState | undefined;
}

export interface DecodedRow<R> {
  row: R;
  /** The row's logits: its last new position's (vocab-sized view), or every new position's with allLogits. */
  logits: Float32Array;
  /** A float16 graph's: the same rows as half bits. */
  half?: Uint16Array;
}

/** What a step feeds: `width` new tokens per row, and whether the logits of all of them come back. */
export interface StepFeed<R> {
  tokens(row: R): readonly number[];
  width: number;
  allLogits?: boolean;
}

export class DecodeBatch<R extends BatchRow> {
  private groups: RowGroup<R>[] = [];

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

  /** The rows a step computes. */
  liveRows(): R[] {
    return this.groups.flatMap((group) => group.liveRows());
  }

  /** Drops rows no longer live and adds rows whose single-row `kv` holds their positions. */
  update(joining: readonly R[]): void {
    this.place(
      joining.map((row) => {
        if (row.kv === undefined) throw new Error(`row ${row.id} joined the decode batch without its KV`);
        const slice = { state: row.kv, row: 0, start: 0, length: row.kvLength };
        row.kv = undefined;
        return { row, slice };
      }),
    );
  }

  /**
   * One forward per group of every row's `feed` tokens. The groups' forwards run at once (ONNX Runtime runs
   * concurrent calls on one session), so a step waits for one hand-off to its threads, not one per group.
   * Rows' kvLength is left to the caller: set it to the positions kept, then call settle().
   */
  async step(decoder: Decoder, feed: StepFeed<R>): Promise<DecodedRow<R>[]> {
    return (await Promise.all(this.groups.map((group) => group.step(decoder, feed)))).flat();
  }

  /**
   * After a step whose rows did not all keep every new position (speculation rolled some back): the kept
   * positions are gathered again where the layout expects them, each row in the group of its new length class.
   */
  settle(): void {
    const moving = this.groups.flatMap((group) => group.unsettled());
    if (moving.length > 0) this.place(moving);
  }

  private place(joining: readonly Joiner<R>[]): void {
    const joiners = new Map<RowGroup<R>, Joiner<R>[]>();
    for (const joiner of joining) {
      const lengthClass = joiner.row.kvLength % this.period;
      let group = this.groups.find((g) => g.lengthClass(this.period) === lengthClass);
      if (!group) {
        group = new RowGroup(this.shape, this.layout);
        this.groups.push(group);
      }
      joiners.set(group, [...(joiners.get(group) ?? []), joiner]);
    }
    for (const group of this.groups) group.update(joiners.get(group) ?? []);
    this.groups = this.groups.filter((group) => group.size > 0);
  }
}

/** A row entering a group, and where its positions are now. */
interface Joiner<R> {
  row: R;
  slice: RowSlice;
}

/** Rows that decode in one forward over one KV state. */
class RowGroup<R extends BatchRow> {
  private rows: R[] = [];
  private kv: KvState | undefined;
  /** Set by a step until settled: each row's kvLength before it, and the positions the step added. */
  private stepped: { lengths: number[]; firsts: number[]; width: number } | undefined;

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

  liveRows(): R[] {
    return this.rows.filter((row) => row.live);
  }

  /** Its rows' lengths modulo `period` (all equal); -1 while it holds none yet. */
  lengthClass(period: number): number {
    const first = this.rows.find((row) => row.live);
    return first === undefined ? -1 : first.kvLength % period;
  }

  update(joining: readonly Joiner<R>[]): void {
    const staying = this.rows.filter((row) => row.live);
    if (staying.length === this.rows.length && joining.length === 0) return;
    const slices = [...this.liveSlices(), ...joining.map(({ slice }) => slice)];
    this.rows = [...staying, ...joining.map(({ row }) => row)];
    const length = Math.max(0, ...this.rows.map((row) => row.kvLength));
    this.kv = this.rows.length === 0 ? undefined : this.layout.gather(this.shape, slices, length, this.kv);
    this.stepped = undefined;
  }

  async step(decoder: Decoder, feed: StepFeed<R>): Promise<DecodedRow<R>[]> {
    if (this.kv === undefined) return [];
    const rows = this.rows;
    const { width } = feed;
    const lengths = rows.map((row) => row.kvLength);
    const before = this.kv;
    const { logits, half, present } = await decoder.forward({
      tokenIds: rows.flatMap((row) => feed.tokens(row)),
      newTokens: width,
      past: before,
      pastLengths: lengths,
      allLogits: feed.allLogits,
    });
    this.kv = present;
    const firsts = lengths.map((length) => this.layout.start(before.length, length));
    this.stepped = { lengths, firsts, width };
    const span = decoder.vocabSize * (feed.allLogits ? width : 1);
    return rows.map((row, r) => ({
      row,
      logits: logits.subarray(r * span, (r + 1) * span),
      half: half?.subarray(r * span, (r + 1) * span),
    }));
  }

  /**
   * The live rows whose positions are no longer where the layout expects them after the last step, taken out of
   * this group (with the slices of their kept positions) to be placed again; none when every row kept them all.
   * A right-padded layout rolls back in place (its rows start at 0 and the next write lands after kvLength).
   */
  unsettled(): Joiner<R>[] {
    const stepped = this.stepped;
    this.stepped = undefined;
    if (stepped === undefined || this.layout.rollsBackInPlace) return [];
    const kept = this.rows.every((row, r) => !row.live || row.kvLength === stepped.lengths[r] + stepped.width);
    if (kept) return [];
    const state = this.kv as KvState;
    const moving = this.rows.flatMap((row, r) =>
      row.live ? [{ row, slice: { state, row: r, start: stepped.firsts[r], length: row.kvLength } }] : [],
    );
    this.rows = [];
    this.kv = undefined;
    return moving;
  }

  /** Where the live rows' positions are in this group's state. */
  private liveSlices(): RowSlice[] {
    const state = this.kv;
    if (state === undefined) return [];
    return this.rows.flatMap((row, r) =>
      row.live ? [{ state, row: r, start: this.layout.start(state.length, row.kvLength), length: row.kvLength }] : [],
    );
  }
}
