// The two fixed-capacity KV layouts, run by real ONNX Runtime CPU sessions against the float64 reference and
// the standard graph: gqa (GroupQueryAttention, each present output bound to its past input's buffer) and
// append (a cache the graph only reads; the caller writes the new positions' keys and values into it).
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
  type KvLayout,
  newKeyName,
  newValueName,
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

const variantDir = async (layout: KvLayout) =>
  (
    await ensureModel(
      `tiny-${layout}`,
      fileURLToPath(new URL(`../../../.cache/model-pack-test/tiny-${layout}`, import.meta.url)),
    )
  ).dir;

/**
 * A batch's cache in a fixed-capacity layout: per layer K and V of [rows, heads, capacity, headDim], each row's
 * real positions first. Runs over a contiguous range of rows bind that range of every buffer.
 */
class CapacityCache {
  readonly tensors: Float32Array[];
  readonly lengths: number[];
  constructor(
    private readonly session: ort.InferenceSession,
    private readonly layout: "gqa" | "append",
    rows: number,
    readonly capacity: number,
  ) {
    this.tensors = Array.from({ length: 2 * layers }, () => new Float32Array(rows * heads * capacity * hd));
    this.lengths = Array(rows).fill(0);
  }

  /** Adds `ids[i]` (equal counts) to rows `rows`, in one run; the logits of each row's last position. */
  async run(rows: number[], ids: number[][]): Promise<Float32Array> {
    const n = ids[0].length;
    const total = Math.max(...rows.map((r) => this.lengths[r])) + n;
    const mask = new BigInt64Array(rows.length * total);
    rows.forEach((r, i) => {
      mask.fill(1n, i * total, i * total + this.lengths[r] + n);
    });
    const positions = rows.flatMap((r) => Array.from({ length: n }, (_, i) => BigInt(this.lengths[r] + i)));
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
      const [key, value] = [2 * l, 2 * l + 1].map((t) => new ort.Tensor("float32", view(this.tensors[t]), dims));
      feeds[pastKeyName(l)] = key;
      feeds[pastValueName(l)] = value;
      if (this.layout === "gqa") {
        fetches[presentKeyName(l)] = key;
        fetches[presentValueName(l)] = value;
      } else {
        fetches[newKeyName(l)] = null;
        fetches[newValueName(l)] = null;
      }
    }
    const out = await this.session.run(feeds, fetches as ort.InferenceSession.FetchesType);
    if (this.layout === "append") {
      for (let l = 0; l < layers; l++) {
        this.append(this.tensors[2 * l], out[newKeyName(l)], rows, n);
        this.append(this.tensors[2 * l + 1], out[newValueName(l)], rows, n);
      }
    }
    for (const r of rows) this.lengths[r] += n;
    return out.logits.data as Float32Array;
  }

  /** Writes [rows, heads, n, headDim] new positions after each row's real ones. */
  private append(target: Float32Array, added: ort.Tensor, rows: number[], n: number): void {
    expect(added.dims).toEqual([rows.length, heads, n, hd]);
    const data = added.data as Float32Array;
    rows.forEach((r, i) => {
      for (let h = 0; h < heads; h++) {
        const from = (i * heads + h) * n * hd;
        target.set(data.subarray(from, from + n * hd), ((r * heads + h) * this.capacity + this.lengths[r]) * hd);
      }
    });
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

const graphOf = async (dir: string) =>
  onnx.ModelProto.decode(await readFile(join(dir, ONNX_MODEL_PATH))).graph as OnnxNamespace.GraphProto;

describe.each(["gqa", "append"] as const)("tiny GPT-2 graph, %s layout", (layout) => {
  let dir: string;
  let session: ort.InferenceSession;
  beforeAll(async () => {
    dir = await variantDir(layout);
    session = await openSession(dir);
  });

  test("holds the standard graph's weights, byte for byte, and a max-length cache; config.json names the layout", async () => {
    const config = JSON.parse(await readFile(join(dir, "config.json"), "utf8"));
    expect(config.model_pack).toMatchObject({ preset: `tiny-${layout}`, kv_layout: layout });
    expect(session.inputMetadata.find((m) => m.name === pastKeyName(0))).toMatchObject({
      type: "float32",
      shape: ["batch_size", heads, "max_sequence_length", hd],
    });
    const named = (g: OnnxNamespace.GraphProto) =>
      new Map(g.initializer.map((t) => [String(t.name), Buffer.from(t.rawData ?? [])]));
    const [variant, standard] = [named(await graphOf(dir)), named(await graphOf((await tinyModel()).dir))];
    const weightNames = [...standard.keys()].filter((name) => name.startsWith("transformer."));
    expect(weightNames).toHaveLength(4 + 12 * layers);
    for (const name of weightNames) {
      expect(variant.get(name)?.equals(standard.get(name) ?? Buffer.alloc(0)), name).toBe(true);
    }
  });

  test("chunked prefill, then a batched decode of rows of different lengths, match the float64 reference", async () => {
    const prompts = [
      "The quick brown fox jumps over the lazy dog.",
      "Hi",
      "In the beginning the universe was created",
    ].map(gpt2Encode);
    const cache = new CapacityCache(session, layout, prompts.length, 64);
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
      `${layout} layout, rows of ${prompts.map((p) => p.length)} tokens + 7 decoded: max abs diff vs float64 recompute ${worst.toExponential(2)}`,
    );
    expect(worst).toBeLessThanOrEqual(TOLERANCE);
    expect(cache.lengths).toEqual(prompts.map((p) => p.length + 6));
  });
});

describe("gqa layout specifics", () => {
  test("the folder carries genai_config.json with past_present_share_buffer; attention is GroupQueryAttention", async () => {
    const dir = await variantDir("gqa");
    const genai = JSON.parse(await readFile(join(dir, GENAI_CONFIG_PATH), "utf8"));
    expect(genai.search.past_present_share_buffer).toBe(true);
    expect(genai.model.decoder.inputs.past_key_names).toBe("past_key_values.%d.key");
    const graph = await graphOf(dir);
    expect(graph.node.filter((n) => n.opType === "GroupQueryAttention")).toHaveLength(layers);
    expect(graph.node.some((n) => n.opType === "Concat")).toBe(false);
  });

  test("a bound present is written in place: the step's key lands in the caller's buffer, nothing else moves", async () => {
    const cache = new CapacityCache(await openSession(await variantDir("gqa")), "gqa", 1, 32);
    const prompt = gpt2Encode("A cache holds keys and values");
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

describe("append layout specifics", () => {
  test("its only cache outputs are the new positions' keys and values; no genai_config.json", async () => {
    const dir = await variantDir("append");
    const session = await openSession(dir);
    expect(session.outputNames).toEqual([
      "logits",
      ...Array.from({ length: layers }, (_, i) => [newKeyName(i), newValueName(i)]).flat(),
    ]);
    expect(session.outputMetadata.find((m) => m.name === newKeyName(0))).toMatchObject({
      shape: ["batch_size", heads, "sequence_length", hd],
    });
    await expect(readFile(join(dir, GENAI_CONFIG_PATH))).rejects.toThrow(/ENOENT/);
    await session.release();
  });
});
