// The gqa variant (ONNX Runtime's GroupQueryAttention over a shared past/present buffer), run by real ONNX
// Runtime CPU sessions with each present output bound to its past input's buffer, against the float64
// reference and the standard graph.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { onnx as OnnxNamespace } from "onnx-proto";
import * as ort from "onnxruntime-node";
import { beforeAll, describe, expect, test } from "vitest";
import {
  ensureModel,
  GENAI_CONFIG_PATH,
  generateWeights,
  headDim,
  ONNX_MODEL_PATH,
  pastKeyName,
  pastValueName,
  presentKeyName,
  presentValueName,
  referenceForward,
} from "../src/index.js";
import { argmax, gpt2Encode, logitsRow, maxAbsDiff, openSession, TINY, tinyModel } from "./helpers.js";

const { onnx } = createRequire(import.meta.url)("onnx-proto") as { onnx: typeof OnnxNamespace };
const shape = TINY.shape;
const [layers, heads, hd, vocab] = [shape.nLayer, shape.nHead, headDim(shape), shape.vocabSize];
const weights = generateWeights(shape, TINY.seed);
const TOLERANCE = 1e-4;
let gqaDir: string;
let session: ort.InferenceSession;

beforeAll(async () => {
  const dir = fileURLToPath(new URL("../../../.cache/model-pack-test/tiny-gqa", import.meta.url));
  gqaDir = (await ensureModel("tiny-gqa", dir)).dir;
  session = await openSession(gqaDir);
});

/** A batch's cache in the gqa layout: per layer K and V of [rows, heads, capacity, headDim], rows right-padded. */
class SharedCache {
  readonly tensors: Float32Array[];
  readonly lengths: number[];
  constructor(
    readonly rows: number,
    readonly capacity: number,
  ) {
    this.tensors = Array.from({ length: 2 * layers }, () => new Float32Array(rows * heads * capacity * hd));
    this.lengths = Array(rows).fill(0);
  }

  /** Appends `ids[r]` (equal counts) to rows `rows`, all of them sharing one run; the logits of each last position. */
  async run(rows: number[], ids: number[][]): Promise<Float32Array> {
    const n = ids[0].length;
    const total = Math.max(...rows.map((r) => this.lengths[r])) + n;
    const mask = new BigInt64Array(rows.length * total);
    rows.forEach((r, i) => {
      mask.fill(1n, i * total, i * total + this.lengths[r] + n);
    });
    const positions = rows.flatMap((r) => Array.from({ length: n }, (_, i) => BigInt(this.lengths[r] + i)));
    // The rows must be contiguous: a run over rows [first, last] binds that range of every buffer.
    const rowSize = heads * this.capacity * hd;
    const view = (t: Float32Array) => t.subarray(rows[0] * rowSize, (rows[0] + rows.length) * rowSize);
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor("int64", BigInt64Array.from(ids.flat(), BigInt), [rows.length, n]),
      attention_mask: new ort.Tensor("int64", mask, [rows.length, total]),
      position_ids: new ort.Tensor("int64", BigInt64Array.from(positions), [rows.length, n]),
      num_logits_to_keep: new ort.Tensor("int64", BigInt64Array.of(1n), []),
    };
    const fetches: Record<string, ort.Tensor | null> = { logits: null };
    const dims = [rows.length, heads, this.capacity, hd];
    for (let l = 0; l < layers; l++) {
      const key = new ort.Tensor("float32", view(this.tensors[2 * l]), dims);
      const value = new ort.Tensor("float32", view(this.tensors[2 * l + 1]), dims);
      feeds[pastKeyName(l)] = key;
      feeds[pastValueName(l)] = value;
      fetches[presentKeyName(l)] = key;
      fetches[presentValueName(l)] = value;
    }
    const out = await session.run(feeds, fetches as ort.InferenceSession.FetchesType);
    for (const r of rows) this.lengths[r] += n;
    return out.logits.data as Float32Array;
  }
}

/** The float64 reference's logits for the last position of `ids`, computed from scratch. */
const recompute = (ids: number[]) =>
  referenceForward(weights, {
    inputIds: [ids],
    attentionMask: [ids.map(() => 1)],
    positionIds: [ids.map((_, i) => i)],
    numLogitsToKeep: 1,
  }).logits;

describe("tiny GPT-2 graph, gqa layout", () => {
  test("the folder says its layout; the graph holds the standard graph's weights and a max-length cache", async () => {
    const genai = JSON.parse(await readFile(join(gqaDir, GENAI_CONFIG_PATH), "utf8"));
    expect(genai.search.past_present_share_buffer).toBe(true);
    expect(genai.model.decoder.inputs.past_key_names).toBe("past_key_values.%d.key");
    const config = JSON.parse(await readFile(join(gqaDir, "config.json"), "utf8"));
    expect(config.model_pack).toMatchObject({ preset: "tiny-gqa", kv_layout: "gqa" });
    expect(session.inputMetadata.find((m) => m.name === pastKeyName(0))).toMatchObject({
      type: "float32",
      shape: ["batch_size", heads, "max_sequence_length", hd],
    });

    const graph = async (dir: string) =>
      onnx.ModelProto.decode(await readFile(join(dir, ONNX_MODEL_PATH))).graph as OnnxNamespace.GraphProto;
    const [gqa, standard] = [await graph(gqaDir), await graph((await tinyModel()).dir)];
    const named = (g: OnnxNamespace.GraphProto) =>
      new Map(g.initializer.map((t) => [String(t.name), Buffer.from(t.rawData ?? [])]));
    const [gqaTensors, standardTensors] = [named(gqa), named(standard)];
    const weightNames = [...standardTensors.keys()].filter((name) => name.startsWith("transformer."));
    expect(weightNames).toHaveLength(4 + 12 * layers);
    for (const name of weightNames) {
      expect(gqaTensors.get(name)?.equals(standardTensors.get(name) ?? Buffer.alloc(0)), name).toBe(true);
    }
    expect(gqa.node.filter((n) => n.opType === "GroupQueryAttention")).toHaveLength(layers);
    expect(gqa.node.some((n) => n.opType === "Concat")).toBe(false);
  });

  test("chunked prefill, then a batched decode of rows of different lengths, match the float64 reference", async () => {
    const prompts = [
      "The quick brown fox jumps over the lazy dog.",
      "Hi",
      "In the beginning the universe was created",
    ].map(gpt2Encode);
    const cache = new SharedCache(prompts.length, 64);
    const sequences = prompts.map((p) => [...p]);
    let worst = 0;
    // Each prompt prefills alone in its own row (the first in two chunks: a prompt with a past).
    for (const [r, prompt] of prompts.entries()) {
      if (r === 0) await cache.run([r], [prompt.slice(0, 5)]);
      const logits = await cache.run([r], [r === 0 ? prompt.slice(5) : prompt]);
      worst = Math.max(worst, maxAbsDiff(logits, recompute(prompt)));
      sequences[r].push(argmax(logits));
    }
    for (let step = 0; step < 6; step++) {
      const logits = await cache.run(
        [0, 1, 2],
        sequences.map((s) => [s[s.length - 1]]),
      );
      for (const [r, s] of sequences.entries()) {
        const row = logitsRow(logits, vocab, r);
        worst = Math.max(worst, maxAbsDiff(row, recompute(s)));
        s.push(argmax(row));
      }
    }
    console.log(
      `gqa layout, rows of ${prompts.map((p) => p.length)} tokens + 7 decoded: max abs diff vs float64 recompute ${worst.toExponential(2)}`,
    );
    expect(worst).toBeLessThanOrEqual(TOLERANCE);
    expect(cache.lengths).toEqual(prompts.map((p) => p.length + 6));
  });

  test("a bound present is written in place: the step's key lands in the caller's buffer, nothing else moves", async () => {
    const prompt = gpt2Encode("A cache holds keys and values");
    const cache = new SharedCache(1, 32);
    await cache.run([0], [prompt]);
    const before = cache.tensors.map((t) => t.slice());
    await cache.run([0], [[464]]);
    const position = prompt.length;
    for (const [t, tensor] of cache.tensors.entries()) {
      for (let h = 0; h < heads; h++) {
        const at = (p: number) => (h * 32 + p) * hd;
        // The new position was zero and now holds the new key/value; every other position is unchanged.
        expect(before[t].subarray(at(position), at(position + 1)).every((v) => v === 0)).toBe(true);
        expect(tensor.subarray(at(position), at(position + 1)).some((v) => v !== 0)).toBe(true);
        expect(maxAbsDiff(tensor.subarray(at(0), at(position)), before[t].subarray(at(0), at(position)))).toBe(0);
        expect(tensor.subarray(at(position + 1), at(32)).every((v) => v === 0)).toBe(true);
      }
    }
  });
});
