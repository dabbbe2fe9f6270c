// A draft model's proposals: a second, much cheaper decoder with the target's tokenizer, its own KV cache and its
// own decode batch over the speculating sequences, running k steps ahead each engine step.
//
// A row's draft cache holds every position of its sequence but the last two tokens (the last accepted one and
// the pending one), whatever was accepted: the first forward of a step feeds those two, the next ones feed one
// proposal each. After verification the row is cut back to that length again (a rollback: in place in a
// right-padded cache, gathered again in a left-padded one), so every step starts the same way.
import { LlmError } from "@llm/errors";
import { DecodeBatch } from "../decode-batch.js";
import { KvState } from "../kv-state.js";
import { type LoadedModel, type LoadModelOptions, loadModel } from "../load-model.js";
import type { ProposalInput } from "../sampler.js";
import type { Sequence } from "../sequence.js";

/** A draft proposal for each row from the draft's logits (the sampler's coupled draw, or the argmax). */
export type ProposalChooser = (rows: readonly ProposalInput[]) => Promise<(number | undefined)[]>;

class DraftRow {
  kvLength = 0;
  kv: KvState | undefined;
  /** Left out of the next step's proposals: the batch drops it at its next update. */
  dropped = false;

  constructor(readonly seq: Sequence<unknown>) {}

  get id(): string {
    return this.seq.id;
  }

  get live(): boolean {
    return !this.dropped && this.seq.state === "decode";
  }
}

/** Forwards timed for the draft's cost: their median, so one slow forward (a warm-up, a busy core) moves nothing. */
const TIMINGS = 15;

export class DraftModel {
  /** The latest batched draft forwards' times (ms), oldest first. */
  private readonly timings: number[] = [];
  /** The last propose()'s time prefilling rows that (re)joined: a one-off per sequence, like the target's prefill. */
  catchUpMs = 0;
  private readonly batch: DecodeBatch<DraftRow>;
  private readonly rows = new Map<string, DraftRow>();
  /** The rows the last propose() ran forwards for: the ones settle() cuts back (the rest fell behind). */
  private proposed: DraftRow[] = [];

  private constructor(private readonly model: LoadedModel) {
    // Proposals need no batch invariance (verification keeps the output exact): one group, fewest forwards.
    this.batch = new DecodeBatch(model.shape, model.decoder.rows, 1);
  }

  /** Loads the draft and checks it can propose for a target of `vocabSize` ids. */
  static async load(options: Omit<LoadModelOptions, "probePadding">, vocabSize: number): Promise<DraftModel> {
    const model = await loadModel({ ...options, probePadding: false, cpuMemArena: false });
    if (model.config.vocabSize !== vocabSize) {
      await model.decoder.release();
      throw new LlmError(
        "invalid_argument",
        `draft model ${model.config.modelId} has ${model.config.vocabSize} token ids, the target ${vocabSize}: a draft must share the target's tokenizer`,
      );
    }
    return new DraftModel(model);
  }

  get modelId(): string {
    return this.model.config.modelId;
  }

  get bytes(): number {
    return this.batch.bytes;
  }

  /** The draft's positions: a row's proposals stop before its last. */
  get contextLength(): number {
    return this.model.config.contextLength;
  }

  /**
   * Up to `wanted.get(seq)` proposals for each sequence (fewer where `choose` gives none), from max-k batched
   * forwards of the draft. Sequences not in `wanted` leave the draft batch.
   */
  async propose(wanted: ReadonlyMap<Sequence<unknown>, number>, choose: ProposalChooser) {
    const proposals = new Map<Sequence<unknown>, number[]>();
    for (const row of this.rows.values()) row.dropped = !wanted.has(row.seq);
    const joining: DraftRow[] = [];
    const started = performance.now();
    for (const seq of wanted.keys()) {
      if (seq.kvLength < 2) continue; // nothing to prefill before the two tokens a step feeds
      const row = this.rows.get(seq.id);
      if (row && !row.dropped && row.kvLength === seq.kvLength - 1) continue;
      if (row) row.dropped = true; // fell behind while it did not speculate: prefilled again
      joining.push(await this.prefill(seq));
    }
    this.batch.update(joining);
    this.catchUpMs = joining.length > 0 ? performance.now() - started : 0;
    this.forget();
    const active = [...this.rows.values()].filter((row) => row.live);
    this.proposed = active;
    if (active.length === 0) return proposals;
    for (const row of active) proposals.set(row.seq, []);
    const steps = Math.max(...active.map((row) => wanted.get(row.seq) ?? 0));
    for (let ahead = 0; ahead < steps; ahead++) {
      const feed = (row: DraftRow) => {
        const own = proposals.get(row.seq) as number[];
        const { tokens } = row.seq;
        return ahead === 0 ? tokens.slice(-2) : [own.at(-1) ?? tokens[tokens.length - 1]];
      };
      const width = ahead === 0 ? 2 : 1;
      const forwardStarted = performance.now();
      const decoded = await this.batch.step(this.model.decoder, { width, tokens: feed });
      this.timed(performance.now() - forwardStarted);
      for (const { row } of decoded) row.kvLength += width;
      const asking = decoded.filter(({ row }) => {
        const own = proposals.get(row.seq) as number[];
        return own.length === ahead && ahead < (wanted.get(row.seq) ?? 0);
      });
      const chosen = await choose(asking.map(({ row, logits }) => ({ seqId: row.id, logits, ahead })));
      asking.forEach(({ row }, i) => {
        const token = chosen[i];
        if (token !== undefined) proposals.get(row.seq)?.push(token);
      });
    }
    return proposals;
  }

  /** After verification: every row back to its sequence's length minus one (see the top of this file). */
  settle(): void {
    // Only rows that ran this step: a row skipped by a plain step lacks its new positions, and must be seen
    // as behind (prefilled again when it next speculates), not moved past positions its cache never computed.
    for (const row of this.proposed) if (row.live) row.kvLength = row.seq.kvLength - 1;
    this.proposed = [];
    this.batch.settle();
  }

  /** The median of the latest forwards' times (ms); undefined before any, or once idle steps aged them all out. */
  get forwardMs(): number | undefined {
    if (this.timings.length === 0) return undefined;
    const sorted = [...this.timings].sort((a, b) => a - b);
    return sorted[sorted.length >> 1];
  }

  /**
   * Drops every row (and its cache): nothing speculates with the draft now. Each call also forgets the oldest
   * timing, so a cost measured too high (which keeps the draft idle, and so unmeasured) falls back to the prior.
   */
  idle(): void {
    this.timings.shift();
    if (this.rows.size === 0) return;
    for (const row of this.rows.values()) row.dropped = true;
    this.batch.update([]);
    this.forget();
  }

  release(): Promise<void> {
    return this.model.decoder.release();
  }

  /** The sequence's positions but its last one, in a single-row cache, as a new row. */
  private async prefill(seq: Sequence<unknown>): Promise<DraftRow> {
    const row = new DraftRow(seq);
    const length = seq.kvLength - 1;
    const { present } = await this.model.decoder.forward({
      tokenIds: seq.tokens.slice(0, length),
      newTokens: length,
      past: KvState.empty(this.model.shape, 1, 0),
      pastLengths: [0],
    });
    row.kv = present;
    row.kvLength = length;
    this.rows.set(seq.id, row);
    return row;
  }

  private timed(ms: number): void {
    this.timings.push(ms);
    if (this.timings.length > TIMINGS) this.timings.shift();
  }

  /** Rows the batch dropped. */
  private forget(): void {
    for (const [id, row] of this.rows) if (!row.live) this.rows.delete(id);
  }
}
