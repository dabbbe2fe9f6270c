// The KV path of graphs whose cache the caller owns, with a fixed capacity and each row's real positions first
// (right padding): the model pack's append layout, whose graph only reads the cache and outputs the new
// positions' keys and values, which this decoder writes after each row's real positions. A step copies nothing
// the size of the cache, where the standard graph's Concat and onnxruntime-node's output copy each copy all of it.
// Capacity grows CAPACITY_STEP positions at a time (one copy of the rows), so that copy is paid once per 64 tokens.
import type * as ort from "onnxruntime-node";
import { Decoder, type ForwardInput, type ForwardOutput, type RowLayout } from "./decoder.js";
import { gatherRows, type KvArray, KvState, kvArray, placeRows } from "./kv-state.js";

const CAPACITY_STEP = 64;

/** A capacity of at least `positions`. */
const roomFor = (positions: number) => Math.ceil(positions / CAPACITY_STEP) * CAPACITY_STEP;

/** A new batch buffer has room for a multiple of ROW_STEP rows, so sequences joining one by one rarely re-allocate. */
const ROW_STEP = 4;

/**
 * Rows stay in the batch's buffers while those have room (rows and positions): a leaving row's place is taken
 * by moving the rows after it down, a joining row is copied in after them, and nothing else moves. Otherwise
 * a new buffer with spare rows, and room for the next decode step's position.
 */
const RIGHT_PADDED: RowLayout = {
  start: () => 0,
  gather: (shape, rows, longest, current) => {
    const fits = current !== undefined && current.length > longest && rowRoom(current) >= rows.length;
    const home = fits
      ? current
      : KvState.empty(shape, Math.ceil(rows.length / ROW_STEP) * ROW_STEP, roomFor(longest + 1));
    const target = firstRows(home, rows.length);
    placeRows(target, rows, "left");
    return target;
  },
  rollsBackInPlace: true,
};

/** Rows `state`'s buffers have room for at its length. */
function rowRoom(state: KvState): number {
  const width = state.tensors[0].BYTES_PER_ELEMENT;
  return state.tensors[0].buffer.byteLength / (width * state.shape.numHeads * state.length * state.shape.headDim);
}

/** A view of the first `rows` rows of `state`'s buffers (which start at offset 0). */
function firstRows(state: KvState, rows: number): KvState {
  const floats = rows * state.shape.numHeads * state.length * state.shape.headDim;
  return new KvState(
    state.shape,
    rows,
    state.length,
    state.tensors.map((t) => kvArray(state.shape.dtype, floats, t.buffer)),
  );
}

export class CapacityDecoder extends Decoder {
  override readonly rows = RIGHT_PADDED;

  /** Rows are right-padded: a row's real positions start at 0 in any batch, so no padding changes its sums. */
  override async paddingPeriod(): Promise<number> {
    return 1;
  }

  override async forward(input: ForwardInput): Promise<ForwardOutput> {
    const { past, newTokens, pastLengths } = input;
    const longest = Math.max(...pastLengths) + newTokens;
    const state = past.length >= longest ? past : withCapacity(past, pastLengths, roomFor(longest));
    const outputs = await this.session.run({ ...this.tokenFeeds(input, longest, () => 0), ...this.cacheFeeds(state) });
    for (let layer = 0; layer < this.shape.numLayers; layer++) {
      appendRows(state, 2 * layer, outputs[`new_key_values.${layer}.key`], pastLengths, newTokens);
      appendRows(state, 2 * layer + 1, outputs[`new_key_values.${layer}.value`], pastLengths, newTokens);
    }
    return { ...this.keptLogits(outputs.logits, state.batch, input), present: state };
  }
}

/** `state`'s rows copied into a state of `capacity` positions. */
function withCapacity(state: KvState, lengths: readonly number[], capacity: number): KvState {
  const rows = lengths.map((length, row) => ({ state, row, start: 0, length }));
  return gatherRows(state.shape, rows, capacity, "left");
}

/** Writes `added` ([batch, heads, newTokens, headDim]) into tensor `t` of `state`, after each row's real positions. */
function appendRows(state: KvState, t: number, added: ort.Tensor, lengths: readonly number[], newTokens: number): void {
  const data = added.data as KvArray;
  const { numHeads, headDim } = state.shape;
  const span = newTokens * headDim;
  lengths.forEach((length, row) => {
    for (let h = 0; h < numHeads; h++) {
      const from = (row * numHeads + h) * span;
      state.tensors[t].set(data.subarray(from, from + span), state.offset(row, h, length));
    }
  });
}
