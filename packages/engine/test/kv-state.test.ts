import { describe, expect, it } from "vitest";
import { fromBlocks, gatherRows, KvState, placeRows, toBlocks } from "../src/kv-state.js";

const shape = { numLayers: 2, numHeads: 3, headDim: 4, dtype: "float32" as const };

/** A single-row state whose every float encodes (tensor, head, position, dim), so copies are checkable. */
function labelled(length: number, tag: number): KvState {
  const state = KvState.empty(shape, 1, length);
  state.tensors.forEach((tensor, t) => {
    for (let h = 0; h < shape.numHeads; h++)
      for (let p = 0; p < length; p++)
        for (let d = 0; d < shape.headDim; d++)
          tensor[state.offset(0, h, p) + d] = tag * 1e4 + t * 1e3 + h * 100 + p * 10 + d;
  });
  return state;
}

describe("KV state", () => {
  it("gathers rows right-aligned, zero padding on the left", () => {
    const a = labelled(5, 1);
    const b = labelled(2, 2);
    const batch = gatherRows(
      shape,
      [
        { state: a, row: 0, start: 1, length: 4 },
        { state: b, row: 0, start: 0, length: 2 },
      ],
      6,
    );
    expect(batch).toMatchObject({ batch: 2, length: 6 });
    const at = (row: number, t: number, h: number, p: number) => batch.tensors[t][batch.offset(row, h, p) + 3];
    expect([at(0, 3, 2, 0), at(0, 3, 2, 1), at(0, 3, 2, 2), at(0, 3, 2, 5)]).toEqual([0, 0, 13213, 13243]);
    expect([at(1, 1, 1, 3), at(1, 1, 1, 4), at(1, 1, 1, 5)]).toEqual([0, 21103, 21113]);
  });

  it("gathers rows left-aligned, and moves rows down within one buffer", () => {
    const a = labelled(3, 1);
    const b = labelled(2, 2);
    const batch = gatherRows(
      shape,
      [
        { state: a, row: 0, start: 0, length: 3 },
        { state: b, row: 0, start: 0, length: 2 },
        { state: a, row: 0, start: 0, length: 1 },
      ],
      4,
      "left",
    );
    const at = (state: KvState, row: number, p: number) => state.tensors[1][state.offset(row, 2, p) + 3];
    expect([0, 1, 2, 3].map((p) => at(batch, 0, p))).toEqual([11203, 11213, 11223, 0]);
    expect([0, 1, 2, 3].map((p) => at(batch, 1, p))).toEqual([21203, 21213, 0, 0]);
    // Row 0 leaves: rows 1 and 2 move down in the same buffer; old tails stay (they are past the lengths).
    placeRows(
      batch,
      [
        { state: batch, row: 1, start: 0, length: 2 },
        { state: batch, row: 2, start: 0, length: 1 },
      ],
      "left",
    );
    expect([0, 1, 2].map((p) => at(batch, 0, p))).toEqual([21203, 21213, 11223]);
    expect([0, 1].map((p) => at(batch, 1, p))).toEqual([11203, 21213]);
  });

  it("round-trips whole blocks through the prefix-cache layout", () => {
    const state = labelled(40, 7);
    const blocks = toBlocks(state, 0, 2, 16);
    expect(blocks).toHaveLength(2);
    expect(blocks[0].length).toBe(2 * shape.numLayers * shape.numHeads * 16 * shape.headDim);
    const rebuilt = fromBlocks(shape, blocks, 16);
    expect(rebuilt.length).toBe(32);
    for (let t = 0; t < state.tensors.length; t++)
      for (let h = 0; h < shape.numHeads; h++) {
        const begin = state.offset(0, h, 0);
        expect(rebuilt.tensors[t].subarray(rebuilt.offset(0, h, 0), rebuilt.offset(0, h, 32))).toEqual(
          state.tensors[t].subarray(begin, begin + 32 * shape.headDim),
        );
      }
  });

  it("rejects a block written for another model shape", () => {
    expect(() => fromBlocks(shape, [new Float32Array(10)], 16)).toThrow(/this model needs 768/);
  });
});
