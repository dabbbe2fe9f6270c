// The running sequences' shared KV batch (rows left-padded, or right-padded in a shared buffer: the
// decoder's RowLayout). A decode step's present becomes the next step's past as it is (no copy); the batch
// is only re-gathered when sequences join or leave.
import type { Decoder, RowLayout } from "./decoder.js";
import type { KvShape, KvState, RowSlice } from "./kv-state.js";
import type { Sequence } from "./sequence.js";

export class DecodeBatch<P> {
  private rows: Sequence<P>[] = [];
  private kv: KvState | undefined;

  constructor(
    private readonly shape: KvShape,
    /** The decoder's: where rows keep their positions. */
    private readonly layout: RowLayout,
  ) {}

  get size(): number {
    return this.rows.length;
  }

  get bytes(): number {
    return this.kv?.bytes ?? 0;
  }

  /** Drops finished rows and appends sequences whose prefill just ended (they hand over their own KV). */
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

  /** One batched forward of every row's pending token; returns the rows and their logits (row-major). */
  async step(decoder: Decoder): Promise<{ rows: Sequence<P>[]; logits: Float32Array }> {
    if (this.kv === undefined) return { rows: [], logits: new Float32Array(0) };
    const rows = this.rows;
    const { logits, present } = await decoder.forward({
      tokenIds: rows.map((seq) => seq.pendingToken),
      newTokens: 1,
      past: this.kv,
      pastLengths: rows.map((seq) => seq.kvLength),
    });
    this.kv = present;
    for (const seq of rows) seq.kvLength++;
    return { rows, logits };
  }
}
