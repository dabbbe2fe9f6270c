// One forward pass of a Hugging Face-layout decoder graph (design §4), over a batch of rows that each add
// the same number of new tokens on top of a left-padded past. `CapacityDecoder` holds the other KV paths.
import { fromFloat16 } from "@llm/prefix-cache";
import * as ort from "onnxruntime-node";
import type { GraphContract } from "./graph-contract.js";
import { gatherRows, type KvArray, type KvShape, KvState, type RowSlice } from "./kv-state.js";

export interface ForwardInput {
  /** New token ids, row-major [batch, newTokens]. */
  tokenIds: ArrayLike<number>;
  newTokens: number;
  past: KvState;
  /** Per row: real positions in `past`; the rest of the row is padding (see `Decoder.rows`). */
  pastLengths: readonly number[];
  /** Logits of every new position (speculative verification), not only the last. */
  allLogits?: boolean;
}

export interface ForwardOutput {
  /** Row-major [batch, vocab]: the logits of each row's LAST new position ([batch, newTokens, vocab] with allLogits). */
  logits: Float32Array;
  /** A float16 graph's: the same rows as IEEE half bits (`logits` is their exact widening). */
  half?: Uint16Array;
  /** The cache with the new positions: a new state, or `past` itself written in place (shared buffer). */
  present: KvState;
}

/** Where a batch's rows keep their real positions, and the state a batch of rows is gathered into. */
export interface RowLayout {
  /** First real position of a row holding `kvLength` positions in a state of `length` positions. */
  start(length: number, kvLength: number): number;
  /**
   * A state holding `rows`, the longest with `longest` real positions, ready for the next decode step; it may
   * reuse the buffers of `current`, the batch's state so far (the rows' slices may point into it).
   */
  gather(shape: KvShape, rows: readonly RowSlice[], longest: number, current: KvState | undefined): KvState;
  /** Whether dropping a row's last positions is only a smaller kvLength (else the rows are gathered again). */
  rollsBackInPlace: boolean;
}

/** IEEE half -Infinity. */
const HALF_MINUS_INFINITY = 0xfc00;

/** Design §4's rows: left-padded to the batch's longest; every forward returns a new, longer state. */
const LEFT_PADDED: RowLayout = {
  start: (length, kvLength) => length - kvLength,
  gather: (shape, rows, longest) => gatherRows(shape, rows, longest),
  rollsBackInPlace: false,
};

/** What a decoder needs to know about its model besides the graph. */
export interface DecoderModel {
  shape: KvShape;
  /** Columns of the logits. */
  vocabSize: number;
  /** Ids from here to `vocabSize` are padding the tokenizer cannot decode: their logits become -Infinity. */
  tokenizerVocabSize: number;
  contract: GraphContract;
}

export class Decoder {
  readonly rows: RowLayout = LEFT_PADDED;
  protected readonly shape: KvShape;
  readonly vocabSize: number;

  constructor(
    protected readonly session: ort.InferenceSession,
    protected readonly model: DecoderModel,
  ) {
    this.shape = model.shape;
    this.vocabSize = model.vocabSize;
  }

  async forward(input: ForwardInput): Promise<ForwardOutput> {
    const { past, newTokens, pastLengths } = input;
    const batch = past.batch;
    const total = past.length + newTokens;
    // Row r: its left padding, then its past and new positions.
    const feeds = { ...this.tokenFeeds(input, total, (r) => past.length - pastLengths[r]), ...this.cacheFeeds(past) };
    const outputs = await this.session.run(feeds);
    const tensors: KvArray[] = [];
    for (let layer = 0; layer < this.shape.numLayers; layer++) {
      tensors.push(outputs[`present.${layer}.key`].data as KvArray);
      tensors.push(outputs[`present.${layer}.value`].data as KvArray);
    }
    return {
      ...this.keptLogits(outputs.logits, batch, input),
      present: new KvState(this.shape, batch, total, tensors),
    };
  }

  /**
   * input_ids, position_ids (counted from each row's past) and num_logits_to_keep when the graph declares them, and an
   * attention_mask of `width` whose row r is 1 from `firstReal(r)` up to its past + new positions.
   */
  protected tokenFeeds(
    input: ForwardInput,
    width: number,
    firstReal: (row: number) => number,
  ): Record<string, ort.Tensor> {
    const { newTokens, pastLengths } = input;
    const batch = pastLengths.length;
    const ids = new BigInt64Array(batch * newTokens);
    const mask = new BigInt64Array(batch * width);
    const positions = new BigInt64Array(batch * newTokens);
    for (let r = 0; r < batch; r++) {
      const first = firstReal(r);
      mask.fill(1n, r * width + first, r * width + first + pastLengths[r] + newTokens);
      for (let i = 0; i < newTokens; i++) {
        ids[r * newTokens + i] = BigInt(input.tokenIds[r * newTokens + i]);
        positions[r * newTokens + i] = BigInt(pastLengths[r] + i);
      }
    }
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor("int64", ids, [batch, newTokens]),
      attention_mask: new ort.Tensor("int64", mask, [batch, width]),
    };
    const { contract } = this.model;
    if (contract.hasPositionIds) feeds.position_ids = new ort.Tensor("int64", positions, [batch, newTokens]);
    const keep = contract.logitsToKeepInput;
    const kept = BigInt(input.allLogits ? newTokens : 1);
    if (keep) feeds[keep] = new ort.Tensor("int64", new BigInt64Array([kept]), []);
    return feeds;
  }

  /** The past_key_values.* inputs over `state`'s buffers (no copy). */
  protected cacheFeeds(state: KvState): Record<string, ort.Tensor> {
    const dims = [state.batch, this.shape.numHeads, state.length, this.shape.headDim];
    const { dtype } = this.shape;
    const feeds: Record<string, ort.Tensor> = {};
    for (let layer = 0; layer < this.shape.numLayers; layer++) {
      feeds[`past_key_values.${layer}.key`] = new ort.Tensor(dtype, state.tensors[2 * layer], dims);
      feeds[`past_key_values.${layer}.value`] = new ort.Tensor(dtype, state.tensors[2 * layer + 1], dims);
    }
    return feeds;
  }

  /**
   * float32 logits of each row's last position, or of its last `newTokens` with allLogits (graphs without
   * num_logits_to_keep return every position), and for a float16 graph the same rows as it produced them
   * (`half`: a remote sampler sends those, half the bytes; `logits` is their exact widening). Ids the tokenizer
   * does not have get -Infinity in both, so no sampler can pick one.
   */
  protected keptLogits(logits: ort.Tensor, batch: number, input: ForwardInput): Pick<ForwardOutput, "logits" | "half"> {
    const keep = input.allLogits ? input.newTokens : 1;
    if (logits.type !== "float16") {
      const kept = this.keptRows(logits.data as Float32Array, logits.dims[1], batch, keep);
      return { logits: this.masked(kept, Number.NEGATIVE_INFINITY) };
    }
    const half = this.masked(
      this.keptRows(logits.data as Uint16Array, logits.dims[1], batch, keep),
      HALF_MINUS_INFINITY,
    );
    return { logits: fromFloat16(half), half };
  }

  /** The last `keep` of `positions` rows of each batch row, as one array (the data itself when nothing is dropped). */
  private keptRows<T extends Float32Array | Uint16Array>(data: T, positions: number, batch: number, keep: number): T {
    if (positions === keep) return data;
    const vocab = this.vocabSize;
    const kept = new (data.constructor as new (length: number) => T)(batch * keep * vocab);
    for (let r = 0; r < batch; r++) {
      const begin = (r * positions + positions - keep) * vocab;
      kept.set(data.subarray(begin, begin + keep * vocab), r * keep * vocab);
    }
    return kept;
  }

  /** `rows` with every id past the tokenizer's set to `minusInfinity`. */
  private masked<T extends Float32Array | Uint16Array>(rows: T, minusInfinity: number): T {
    const vocab = this.vocabSize;
    const known = this.model.tokenizerVocabSize;
    if (known < vocab)
      for (let row = 0; row < rows.length / vocab; row++)
        rows.fill(minusInfinity, row * vocab + known, (row + 1) * vocab);
    return rows;
  }

  /**
   * The smallest left padding that leaves a row's logits bitwise unchanged (ONNX Runtime's CPU kernels reduce
   * over positions in SIMD lanes, so padding by a multiple of the lane count keeps every sum's order; measured 4
   * on an AVX2 x86 CPU), probed once with a short prompt; 1 when no padding up to `limit` does (the rows of a
   * batch then differ from rows alone in the last bits, which seeded sampling absorbs with its flip rate).
   */
  async paddingPeriod(limit = 32): Promise<number> {
    const prompt = Array.from({ length: 24 }, (_, i) => (i * 7919 + 13) % this.vocabSize);
    const logitsWithPadding = async (padding: number) =>
      (
        await this.forward({
          tokenIds: prompt,
          newTokens: prompt.length,
          past: KvState.empty(this.shape, 1, padding),
          pastLengths: [0],
        })
      ).logits;
    const alone = await logitsWithPadding(0);
    for (let padding = 1; padding <= limit; padding++) {
      const padded = await logitsWithPadding(padding);
      if (padded.every((value, i) => value === alone[i])) return padding;
    }
    return 1;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
