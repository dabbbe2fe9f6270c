// The embedding library on the real embed-tiny folder and a real ONNX Runtime session: batching by length
// never changes a vector, batches keep their budget, cancellation leaves batch-mates alone, and every bad
// input is refused with a message naming it.
import { fileURLToPath } from "node:url";
import { LlmError } from "@llm/errors";
import { silentLog } from "@llm/log";
import { ensureModel } from "@llm/model-pack";
import { beforeAll, describe, expect, it } from "vitest";
import { type BatchReport, Embedder, EncoderModel } from "../src/index.js";
import { poolRow } from "../src/pooling.js";

const LIMITS = { maxBatchTokens: 512, maxBatchInputs: 16, maxInputs: 100 };
let model: EncoderModel;
let embedder: Embedder;
const reports: BatchReport[] = [];

/** Mixed lengths: 1 to ~120 words. */
function texts(count: number): string[] {
  const words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split(" ");
  return Array.from({ length: count }, (_, i) =>
    Array.from({ length: 1 + ((i * 37) % 120) }, (_, j) => words[(i + j) % words.length]).join(" "),
  );
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  return a.reduce((max, v, i) => Math.max(max, Math.abs(v - b[i])), 0);
}

beforeAll(async () => {
  const dir = fileURLToPath(new URL("../../../.cache/model-pack-test/embed-tiny", import.meta.url));
  const built = await ensureModel("embed-tiny", dir);
  model = await EncoderModel.load("embed-tiny", built.dir, { providers: ["cpu"], intraOpThreads: 1, log: silentLog });
  embedder = new Embedder(model, LIMITS, (report) => reports.push(report));
});

describe("Embedder on embed-tiny", () => {
  it("reads the folder: 128 wide, 512 tokens, mean pooling, normalized", () => {
    expect(model.info).toMatchObject({ dimensions: 128, maxInputTokens: 512, pooling: "mean", normalize: true });
  });

  it("batched == alone, and batches keep the token budget and input cap", async () => {
    const inputs = texts(48);
    reports.length = 0;
    const together = await Promise.all([
      embedder.embed(inputs.slice(0, 20)),
      embedder.embed(inputs.slice(20, 30)),
      embedder.embed(inputs.slice(30)),
    ]);
    const batched = together.flatMap((result) => result.embeddings);
    expect(reports.length).toBeGreaterThan(1);
    expect(reports.some((report) => report.inputs > 1)).toBe(true);
    for (const report of reports) {
      expect(report.inputs).toBeLessThanOrEqual(LIMITS.maxBatchInputs);
      if (report.inputs > 1) expect(report.inputs * report.width).toBeLessThanOrEqual(LIMITS.maxBatchTokens);
    }
    let worst = 0;
    for (const [i, text] of inputs.entries()) {
      const [alone] = (await embedder.embed([text])).embeddings;
      worst = Math.max(worst, maxAbsDiff(alone, batched[i]));
    }
    console.log(`48 inputs batched vs alone: max abs diff ${worst.toExponential(2)}`);
    expect(worst).toBeLessThanOrEqual(1e-5);
  });

  it("token ids embed as their text does ([CLS] and [SEP] added)", async () => {
    const text = "the quick brown fox";
    const ids = Array.from(model.tokenizer.encode(text));
    const [fromText, fromIds] = (await embedder.embed([text, ids])).embeddings;
    expect(maxAbsDiff(fromText, fromIds)).toBe(0);
  });

  it("dimensions: the first n values, re-normalized (Matryoshka)", async () => {
    const [full] = (await embedder.embed(["hello world"])).embeddings;
    const [short] = (await embedder.embed(["hello world"], { dimensions: 32 })).embeddings;
    const norm = Math.hypot(...full.slice(0, 32));
    expect(short).toHaveLength(32);
    expect(
      maxAbsDiff(
        short,
        full.slice(0, 32).map((v) => v / norm),
      ),
    ).toBeLessThanOrEqual(1e-6);
  });

  it("a cancelled request leaves the queue and its batch-mates get their vectors", async () => {
    const controller = new AbortController();
    const blocker = embedder.embed(texts(16)); // occupies the session, so the next two wait
    const cancelled = embedder.embed(["cancel me", "and me"], { signal: controller.signal });
    const kept = embedder.embed(["keep me"]);
    controller.abort();
    await expect(cancelled).rejects.toMatchObject({ code: "cancelled" });
    const [alone] = (await embedder.embed(["keep me"])).embeddings;
    expect(maxAbsDiff((await kept).embeddings[0], alone)).toBeLessThanOrEqual(1e-5);
    await blocker;
    expect(embedder.waiting).toBe(0);
  });

  it("over-long input: truncated to 512 tokens by default, refused when asked", async () => {
    const long = "word ".repeat(1000);
    expect((await embedder.embed([long])).promptTokens).toBe(512);
    await expect(embedder.embed(["ok", long], { refuseTruncation: true })).rejects.toThrow(
      "input[1] input is 1002 tokens (special tokens included); at most 512 are accepted",
    );
  });

  it.each([
    ["an empty list", [], undefined, "input is empty"],
    ["an empty string", ["fine", ""], undefined, "input[1] is an empty string"],
    ["an empty token list", [[]], undefined, "input[0] is an empty list of token ids"],
    ["an unknown token id", [[5, 999_999]], undefined, "input[0] unknown token id 999999"],
    ["too many inputs", Array(101).fill("x"), undefined, "input has 101 items; at most 100"],
    ["dimensions 0", ["x"], 0, "dimensions must be an integer from 1 to 128"],
    ["dimensions above the width", ["x"], 129, "dimensions must be an integer from 1 to 128"],
  ] as const)("refuses %s with INVALID_ARGUMENT naming it", async (_name, inputs, dimensions, message) => {
    const error = await embedder.embed(inputs as never, { dimensions }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LlmError);
    expect((error as LlmError).code).toBe("invalid_argument");
    expect((error as LlmError).message).toContain(message);
  });
});

describe("pooling over the real tokens of a padded row", () => {
  // Row 1 of a [2, 3, 2] batch has 2 real tokens; its padding position holds values that must never count.
  const hidden = Float32Array.from([9, 9, 9, 9, 9, 9, 1, -2, 3, 4, 100, 100]);
  it.each([
    ["mean", [2, 1]],
    ["cls", [1, -2]],
    ["max", [3, 4]],
    ["lasttoken", [3, 4]],
  ] as const)("%s", (mode, expected) => {
    expect(Array.from(poolRow(hidden, 3, 2, 1, 2, mode))).toEqual(expected);
  });
});
