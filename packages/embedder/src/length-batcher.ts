// Coalesces inputs from concurrent requests into batches by length: one batch runs at a time, and while it
// runs the next ones gather. A batch is the oldest waiting input plus the waiting inputs nearest to it in
// length, within a budget of padded tokens (inputs × longest) and a most-inputs cap, and only while real tokens
// stay at least MIN_FILL of the padded ones: on a CPU a padded position costs as much as a real one, so
// mixing a 5-token query with a 300-token passage would cost more than running them apart. An input whose
// caller gives up while it waits leaves the queue at once.
import { LlmError } from "@llm/errors";

export interface BatchLimits {
  /** Most padded tokens (inputs × longest input) in one batch; a longer input than this runs alone. */
  maxBatchTokens: number;
  maxBatchInputs: number;
}

export interface BatchReport {
  inputs: number;
  /** Longest input: every row is padded to it. */
  width: number;
  /** Real tokens over padded tokens. */
  tokens: number;
  seconds: number;
}

interface Waiting {
  ids: Uint32Array;
  resolve(vector: Float32Array): void;
  reject(error: unknown): void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

/** Least share of real tokens among a batch's padded ones. */
export const MIN_FILL = 0.8;

export type RunBatch = (rows: Uint32Array[]) => Promise<Float32Array[]>;

export class LengthBatcher {
  /** Oldest first. */
  private readonly queue: Waiting[] = [];
  private running = false;

  constructor(
    private readonly run: RunBatch,
    private readonly limits: BatchLimits,
    private readonly onBatch: (report: BatchReport) => void = () => {},
  ) {}

  /** Inputs waiting for a batch. */
  get waiting(): number {
    return this.queue.length;
  }

  /** The vector of `ids`; rejects with CANCELLED when `signal` aborts before its batch ran. */
  submit(ids: Uint32Array, signal?: AbortSignal): Promise<Float32Array> {
    if (signal?.aborted) return Promise.reject(cancelled());
    return new Promise((resolve, reject) => {
      const item: Waiting = {
        ids,
        resolve,
        reject,
        signal,
        onAbort: () => {
          const at = this.queue.indexOf(item);
          if (at >= 0) this.queue.splice(at, 1);
          reject(cancelled());
        },
      };
      signal?.addEventListener("abort", item.onAbort, { once: true });
      this.queue.push(item);
      this.pump();
    });
  }

  private pump(): void {
    if (this.running || this.queue.length === 0) return;
    this.running = true;
    const batch = this.takeBatch();
    for (const item of batch) item.signal?.removeEventListener("abort", item.onAbort);
    const started = performance.now();
    this.run(batch.map((item) => item.ids))
      .then(
        (vectors) => {
          for (const [i, item] of batch.entries()) {
            if (item.signal?.aborted) item.reject(cancelled());
            else item.resolve(vectors[i]);
          }
          const width = Math.max(...batch.map((item) => item.ids.length));
          const tokens = batch.reduce((sum, item) => sum + item.ids.length, 0);
          this.onBatch({ inputs: batch.length, width, tokens, seconds: (performance.now() - started) / 1000 });
        },
        (error) => {
          for (const item of batch) item.reject(error);
        },
      )
      .finally(() => {
        this.running = false;
        this.pump();
      });
  }

  /** Removes and returns the next batch (see the file comment). */
  private takeBatch(): Waiting[] {
    const oldest = this.queue[0];
    const byLength = [...this.queue].sort((a, b) => a.ids.length - b.ids.length);
    const anchor = byLength.lastIndexOf(oldest);
    const { maxBatchTokens, maxBatchInputs } = this.limits;
    const length = (i: number) => byLength[i].ids.length;
    let low = anchor;
    let high = anchor;
    let real = length(anchor);
    // Whether one more input of `added` tokens keeps the batch within its limits once padded to `width`.
    const fits = (added: number, width: number) => {
      const count = high - low + 2;
      return count <= maxBatchInputs && count * width <= maxBatchTokens && real + added >= MIN_FILL * count * width;
    };
    for (;;) {
      const width = length(high);
      const left = low > 0 && fits(length(low - 1), width) ? width - length(low - 1) : Number.POSITIVE_INFINITY;
      const right =
        high + 1 < byLength.length && fits(length(high + 1), length(high + 1))
          ? length(high + 1) - width
          : Number.POSITIVE_INFINITY;
      if (left === Number.POSITIVE_INFINITY && right === Number.POSITIVE_INFINITY) break;
      if (left <= right) real += length(--low);
      else real += length(++high);
    }
    const batch = byLength.slice(low, high + 1);
    const chosen = new Set(batch);
    const rest = this.queue.filter((item) => !chosen.has(item));
    this.queue.splice(0, this.queue.length, ...rest);
    return batch;
  }
}

function cancelled(): LlmError {
  return new LlmError("cancelled", "the embedding request was cancelled before its batch ran");
}
