import { Candidates } from "./candidates.js";
import { createMassHistogram } from "./top-p.js";

/**
 * Scratch buffers for one sampling call, allocated once per vocabulary and reused by every sequence of
 * every step (the batch is sampled one sequence at a time, and nothing in here outlives a call).
 */
export class Workspace {
  /** Logits after bias and penalties, when any apply (the caller's logits are never written). */
  readonly adjusted: Float32Array;
  /** The logits with a constraint's forbidden tokens at -Infinity, for constrained sequences. */
  readonly masked: Float32Array;
  readonly candidates: Candidates;
  /** Mass by distance below the best token, for locating the top-p boundary without a sort. */
  readonly massHistogram: Float64Array;
  private sparse: Float32Array | undefined;

  constructor(readonly vocabSize: number) {
    this.adjusted = new Float32Array(vocabSize);
    this.masked = new Float32Array(vocabSize);
    this.candidates = new Candidates(vocabSize);
    this.massHistogram = createMassHistogram();
  }

  /**
   * A vocab-sized row of -Infinity for a pruned row's survivors to be scattered into (allocated on first use).
   * Whoever scatters puts -Infinity back before returning, so it is never refilled whole.
   */
  get sparseRow(): Float32Array {
    this.sparse ??= new Float32Array(this.vocabSize).fill(Number.NEGATIVE_INFINITY);
    return this.sparse;
  }
}
