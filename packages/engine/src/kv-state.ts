// Key/value cache tensors in the graph's layout: per layer, K and V of shape [batch, heads, length, headDim].
// Rows of a batch may hold fewer real positions than `length`. In the standard layout they are left-padded
// (padding first) and the attention mask hides the padding; in the shared-buffer (gqa) layout `length` is a
// capacity and each row's real positions come first (see `RowLayout` in decoder.ts).
// float16 caches hold IEEE half bits in Uint16Arrays (what onnxruntime-node takes and returns for float16).
import { fromFloat16, type KvBlock, toFloat16 } from "@llm/prefix-cache";
import { BYTES_PER_VALUE, type KvDtype } from "./model-config.js";

export interface KvShape {
  numLayers: number;
  /** The cache's heads: config.json's num_key_value_heads. */
  numHeads: number;
  headDim: number;
  dtype: KvDtype;
}

export type KvArray = Float32Array | Uint16Array;

/** A zeroed array of `length` values of `dtype`, optionally over the start of an existing buffer. */
export function kvArray(dtype: KvDtype, length: number, buffer?: ArrayBufferLike): KvArray {
  if (dtype === "float16") return buffer ? new Uint16Array(buffer, 0, length) : new Uint16Array(length);
  return buffer ? new Float32Array(buffer, 0, length) : new Float32Array(length);
}

export class KvState {
  constructor(
    readonly shape: KvShape,
    readonly batch: number,
    readonly length: number,
    /** Per layer: K then V, each [batch, heads, length, headDim]. */
    readonly tensors: KvArray[],
  ) {}

  static empty(shape: KvShape, batch: number, length = 0): KvState {
    const size = batch * shape.numHeads * length * shape.headDim;
    return new KvState(
      shape,
      batch,
      length,
      Array.from({ length: 2 * shape.numLayers }, () => kvArray(shape.dtype, size)),
    );
  }

  get bytes(): number {
    const values = this.tensors.length * this.batch * this.shape.numHeads * this.length * this.shape.headDim;
    return values * BYTES_PER_VALUE[this.shape.dtype];
  }

  /** Offset of position `position` of head `head` in row `row`. */
  offset(row: number, head: number, position: number): number {
    return ((row * this.shape.numHeads + head) * this.length + position) * this.shape.headDim;
  }
}

/** Positions [start, start + length) of one row of a state. */
export interface RowSlice {
  state: KvState;
  row: number;
  start: number;
  length: number;
}

/**
 * A new batch of `length` positions whose row r holds `rows[r]`: right-aligned (left-padded, the standard
 * layout's rows) or left-aligned (right-padded, the fixed-capacity layouts' rows).
 */
export function gatherRows(
  shape: KvShape,
  rows: readonly RowSlice[],
  length: number,
  align: "right" | "left" = "right",
): KvState {
  const target = KvState.empty(shape, rows.length, length);
  placeRows(target, rows, align);
  return target;
}

/**
 * Copies `rows[r]` into row r of `target`, in order. A slice already at its place in `target`'s own buffers is
 * left as it is, and a slice may come from a later row of `target` (rows move down, never up).
 */
export function placeRows(target: KvState, rows: readonly RowSlice[], align: "right" | "left"): void {
  const { numHeads, headDim } = target.shape;
  rows.forEach((slice, r) => {
    const padding = align === "right" ? target.length - slice.length : 0;
    for (let t = 0; t < target.tensors.length; t++) {
      const from = slice.state.tensors[t];
      const to = target.tensors[t];
      for (let h = 0; h < numHeads; h++) {
        const begin = slice.state.offset(slice.row, h, slice.start);
        const at = target.offset(r, h, padding);
        const width = to.BYTES_PER_ELEMENT;
        if (from.buffer === to.buffer && from.byteOffset + begin * width === to.byteOffset + at * width) continue;
        to.set(from.subarray(begin, begin + slice.length * headDim), at);
      }
    }
  });
}

/**
 * Prefix-cache block values of a single-row state: block b covers positions [b*blockSize, (b+1)*blockSize),
 * laid out [layer][K|V][head][position][headDim].
 */
export function toBlocks(state: KvState, fromBlock: number, toBlock: number, blockSize: number): KvBlock[] {
  const { numHeads, headDim, dtype } = state.shape;
  const headSpan = blockSize * headDim;
  const blocks: KvBlock[] = [];
  for (let b = fromBlock; b < toBlock; b++) {
    const block = kvArray(dtype, state.tensors.length * numHeads * headSpan);
    state.tensors.forEach((tensor, t) => {
      for (let h = 0; h < numHeads; h++) {
        const begin = state.offset(0, h, b * blockSize);
        block.set(tensor.subarray(begin, begin + headSpan), (t * numHeads + h) * headSpan);
      }
    });
    blocks.push(block);
  }
  return blocks;
}

/**
 * The single-row state that `toBlocks` values describe, block after block. A block of the other dtype (a shared
 * tier storing float32 blocks as float16) is converted to the model's.
 */
export function fromBlocks(shape: KvShape, blocks: readonly KvBlock[], blockSize: number): KvState {
  const state = KvState.empty(shape, 1, blocks.length * blockSize);
  const headSpan = blockSize * shape.headDim;
  const expected = 2 * shape.numLayers * shape.numHeads * headSpan;
  blocks.forEach((stored, b) => {
    const block = inDtype(stored, shape.dtype);
    if (block.length !== expected) {
      throw new Error(`prefix-cache block holds ${block.length} floats, this model needs ${expected}`);
    }
    state.tensors.forEach((tensor, t) => {
      for (let h = 0; h < shape.numHeads; h++) {
        const begin = (t * shape.numHeads + h) * headSpan;
        tensor.set(block.subarray(begin, begin + headSpan), state.offset(0, h, b * blockSize));
      }
    });
  });
  return state;
}

function inDtype(block: KvBlock, dtype: KvDtype): KvArray {
  if (dtype === "float16") return block instanceof Uint16Array ? block : toFloat16(block);
  return block instanceof Float32Array ? block : fromFloat16(block);
}
