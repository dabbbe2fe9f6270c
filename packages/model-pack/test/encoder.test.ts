// The embed-tiny encoder: its ONNX graph (real ONNX Runtime) against the float64 reference, padding that
// changes nothing, deterministic bytes, and transformers.js's feature-extraction pipeline on the same folder
// pooling and normalizing as the folder's sentence-transformers files say.
import { readFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { env, pipeline } from "@huggingface/transformers";
import * as ort from "onnxruntime-node";
import { beforeAll, describe, expect, test } from "vitest";
import {
  type BuiltModel,
  bertReferenceForward,
  buildModel,
  ensureModel,
  generateBertWeights,
  LAST_HIDDEN_STATE,
  MODULES_PATH,
  POOLING_CONFIG_PATH,
  PRESETS,
} from "../src/index.js";
import { maxAbsDiff, openSession } from "./helpers.js";

const PRESET = PRESETS["embed-tiny"];
const weights = generateBertWeights(PRESET.shape, PRESET.seed);
const TOLERANCE = 1e-4;
const cacheDir = (name: string) => fileURLToPath(new URL(`../../../.cache/model-pack-test/${name}`, import.meta.url));

let model: BuiltModel;
let session: ort.InferenceSession;

// [CLS] the quick brown fox [SEP] and [CLS] hello [SEP] (bert-base-uncased ids), right-padded with [PAD].
const LONG = [101, 1996, 4248, 2829, 4419, 102];
const SHORT = [101, 7592, 102];

beforeAll(async () => {
  model = await ensureModel("embed-tiny", cacheDir("embed-tiny"));
  session = await openSession(model.dir);
});

async function runEncoder(rows: number[][]): Promise<Float32Array> {
  const width = Math.max(...rows.map((row) => row.length));
  const tensor = (fill: (row: number[], i: number) => number) =>
    new ort.Tensor(
      "int64",
      BigInt64Array.from(
        rows.flatMap((row) => Array.from({ length: width }, (_, i) => BigInt(i < row.length ? fill(row, i) : 0))),
      ),
      [rows.length, width],
    );
  const out = await session.run({
    input_ids: tensor((row, i) => row[i]),
    attention_mask: tensor(() => 1),
    token_type_ids: tensor(() => 0),
  });
  return out[LAST_HIDDEN_STATE].data as Float32Array;
}

function meanPooledNormalized(rows: Float64Array[]): number[] {
  const sum = rows.reduce((acc, row) => acc.map((v, d) => v + row[d]), new Array<number>(rows[0].length).fill(0));
  const mean = sum.map((v) => v / rows.length);
  const norm = Math.hypot(...mean);
  return mean.map((v) => v / norm);
}

describe("embed-tiny encoder", () => {
  test("last_hidden_state of a padded batch matches the float64 reference at every real position", async () => {
    const ortOut = await runEncoder([LONG, SHORT]);
    const width = LONG.length;
    const d = PRESET.shape.nEmbd;
    const reference = bertReferenceForward(weights, {
      inputIds: [LONG, SHORT],
      attentionMask: [LONG.map(() => 1), SHORT.map(() => 1)],
    });
    let diff = 0;
    [LONG, SHORT].forEach((row, b) => {
      for (let pos = 0; pos < row.length; pos++) {
        const start = (b * width + pos) * d;
        diff = Math.max(diff, maxAbsDiff(ortOut.subarray(start, start + d), reference[b][pos]));
      }
    });
    console.log(`embed-tiny ORT vs float64 reference: max abs diff ${diff.toExponential(2)}`);
    expect(diff).toBeLessThanOrEqual(TOLERANCE);
  });

  test("padding changes nothing: the short row alone equals its padded self", async () => {
    const d = PRESET.shape.nEmbd;
    const alone = await runEncoder([SHORT]);
    const padded = await runEncoder([LONG, SHORT]);
    const row = padded.subarray(LONG.length * d, (LONG.length + SHORT.length) * d);
    expect(maxAbsDiff(alone, row)).toBeLessThanOrEqual(1e-5);
  });

  test("the folder says mean pooling and normalization, as sentence-transformers writes it", async () => {
    const modules = JSON.parse(await readFile(join(model.dir, MODULES_PATH), "utf8"));
    const pooling = JSON.parse(await readFile(join(model.dir, POOLING_CONFIG_PATH), "utf8"));
    expect(modules.map((m: { type: string }) => m.type.split(".").pop())).toEqual([
      "Transformer",
      "Pooling",
      "Normalize",
    ]);
    expect(pooling).toMatchObject({
      word_embedding_dimension: 128,
      pooling_mode_mean_tokens: true,
      pooling_mode_cls_token: false,
    });
  });

  test("transformers.js feature-extraction (mean, normalize) equals the reference pooled the same way", async () => {
    env.allowRemoteModels = false;
    env.localModelPath = dirname(model.dir);
    const extractor = await pipeline("feature-extraction", basename(model.dir), { dtype: "fp32", device: "cpu" });
    const output = await extractor(["The quick brown fox", "hello"], { pooling: "mean", normalize: true });
    const vectors = output.tolist() as number[][];
    const reference = bertReferenceForward(weights, {
      inputIds: [LONG, SHORT],
      attentionMask: [LONG.map(() => 1), SHORT.map(() => 1)],
    });
    expect(maxAbsDiff(vectors[0], meanPooledNormalized(reference[0]))).toBeLessThanOrEqual(TOLERANCE);
    expect(maxAbsDiff(vectors[1], meanPooledNormalized(reference[1].slice(0, SHORT.length)))).toBeLessThanOrEqual(
      TOLERANCE,
    );
  });

  test("the same bytes on every build", async () => {
    const again = await buildModel("embed-tiny", cacheDir("embed-tiny-again"), { force: true });
    expect(again.fingerprint).toBe(model.fingerprint);
  });
});
