// What the runner puts on the wire for a row: fp16 rows as fp16 (half the bytes), pruned rows only where the
// sampler declared a bound and the survivors are few, full rows otherwise.
import { LogitsDtype } from "@llm/proto";
import { type PruneSpec, widenHalf } from "@llm/sampling";
import { describe, expect, it } from "vitest";
import { StepEncoder } from "../src/step-encoder.js";

const VOCAB = 1000;
const TOP_P: PruneSpec = { temperature: 0.8, topK: 0, topP: 0.5, minP: 0, logprobs: true, topLogprobs: 2 };
const NO_TRUNCATION: PruneSpec = { ...TOP_P, temperature: 1, topP: 1 };

/** A peaked row: token i's logit falls with i, so top-p 0.5 keeps a handful. */
const peaked = Float32Array.from({ length: VOCAB }, (_, i) => -i / 4);

describe("StepEncoder", () => {
  it("sends a 16-bit model's row as its fp16 values, 2 bytes each", () => {
    const bits = Uint16Array.from({ length: VOCAB }, (_, i) => 0x3c00 + (i % 512)); // 1.0 upwards
    const logits = widenHalf(bits, "float16", new Float32Array(VOCAB));
    const [row] = new StepEncoder(true).encode(
      [{ sequenceId: 1n, input: { seqId: "a", logits, half: { dtype: "float16", bits } }, bound: undefined }],
      undefined,
    );
    expect(row.dtype).toBe(LogitsDtype.FLOAT16);
    expect(row.logits?.byteLength).toBe(2 * VOCAB);
  });

  it("prunes to the survivors (best first) where a bound allows, else sends the full float32 row", () => {
    const encoder = new StepEncoder(true);
    const [pruned, unbounded, wide] = encoder.encode(
      [
        { sequenceId: 1n, input: { seqId: "a", logits: peaked }, bound: TOP_P },
        { sequenceId: 2n, input: { seqId: "b", logits: peaked }, bound: undefined },
        { sequenceId: 3n, input: { seqId: "c", logits: peaked }, bound: NO_TRUNCATION },
      ],
      undefined,
    );
    expect(pruned.pruned?.tokenIds?.slice(0, 3)).toEqual([0, 1, 2]);
    expect(pruned.pruned?.candidateCount).toBeLessThan(10);
    expect(pruned.pruned?.logNormalizer).toBeGreaterThan(0);
    expect(unbounded.logits?.byteLength).toBe(4 * VOCAB);
    expect(wide.logits?.byteLength).toBe(4 * VOCAB); // every token survives: pruning would be heavier
    expect(
      new StepEncoder(false).encode(
        [{ sequenceId: 1n, input: { seqId: "a", logits: peaked }, bound: TOP_P }],
        undefined,
      )[0].pruned,
    ).toBeUndefined();
  });
});
