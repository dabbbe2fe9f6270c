// A decoder embedding model (Qwen3-Embedding's recipe: a causal decoder, end-of-text appended by the tokenizer, the
// last token's final hidden state, normalized) built by the model pack as `qwen3-embed-tiny`: its graph keeps the KV
// inputs of a decoder export, which the embedder feeds empty. Its vectors equal transformers.js's feature-extraction
// pipeline (`pooling: "last_token"`, which reads the last position: left padding, as the tokenizer config says) on
// the same folder, for inputs alone and batched; ours batches by length, right-padded.
import { basename, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { AutoTokenizer, env, type FeatureExtractionPipeline, pipeline } from "@huggingface/transformers";
import { silentLog } from "@llm/log";
import { ensureModel } from "@llm/model-pack";
import { VARIED_TEXTS } from "@llm/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Embedder, EncoderModel } from "../src/index.js";

const INPUTS = [
  ...VARIED_TEXTS,
  "<|endoftext|> special text <|im_start|> inside",
  "Instruct: Given a web search query, retrieve relevant passages\nQuery: what is a decoder embedding?",
];

let model: EncoderModel;
let embedder: Embedder;
let extractor: FeatureExtractionPipeline;
let folder: string;

beforeAll(async () => {
  const dir = fileURLToPath(new URL("../../../.cache/model-pack-test/qwen3-embed-tiny", import.meta.url));
  const built = await ensureModel("qwen3-embed-tiny", dir);
  model = await EncoderModel.load("qwen3-embed-tiny", built.dir, {
    providers: ["cpu"],
    intraOpThreads: 1,
    log: silentLog,
  });
  embedder = new Embedder(model, { maxBatchTokens: 4096, maxBatchInputs: 32, maxInputs: 100 });
  env.allowRemoteModels = false;
  env.localModelPath = dirname(built.dir);
  folder = basename(built.dir);
  extractor = await pipeline("feature-extraction", folder, { dtype: "fp32", device: "cpu" });
}, 180_000);

afterAll(async () => {
  await model?.close();
});

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return a.length === b.length ? max : Number.POSITIVE_INFINITY;
}

describe("a decoder embedding model (qwen3-embed-tiny)", () => {
  it("loads as last-token pooling, normalized, with the decoder's KV inputs fed empty", () => {
    expect(model.info).toMatchObject({ dimensions: 64, pooling: "lasttoken", normalize: true, maxInputTokens: 2048 });
  });

  it("tokenizes as transformers.js does: end-of-text appended", async () => {
    const peer = await AutoTokenizer.from_pretrained(folder);
    for (const text of INPUTS) {
      const ours = Array.from(model.tokenizer.encode(text, { addSpecialTokens: true, allowSpecial: true }));
      expect(ours.at(-1)).toBe(151_643); // <|endoftext|>
      expect(ours).toEqual(Array.from(peer.encode(text)));
    }
  });

  it(`equals transformers.js feature-extraction (last_token, normalize) within 1e-4 on ${INPUTS.length} inputs, alone and batched`, async () => {
    const ours = (await embedder.embed(INPUTS)).embeddings;
    expect(maxAbsDiff(ours[0], ours[1])).toBeGreaterThan(1e-2); // distinct inputs, distinct vectors
    let worst = 0;
    for (const [i, text] of INPUTS.entries()) {
      const [alone] = (await extractor([text], { pooling: "last_token", normalize: true })).tolist() as number[][];
      worst = Math.max(worst, maxAbsDiff(ours[i], alone));
    }
    const batched = (await extractor(INPUTS, { pooling: "last_token", normalize: true })).tolist() as number[][];
    for (const [i, vector] of batched.entries()) worst = Math.max(worst, maxAbsDiff(ours[i], vector));
    console.log(`qwen3-embed-tiny vs transformers.js, ${INPUTS.length} inputs: max abs diff ${worst.toExponential(2)}`);
    expect(worst).toBeLessThanOrEqual(1e-4);
  });

  it("batched == alone: a vector does not depend on its batch-mates", async () => {
    const together = (await embedder.embed(INPUTS)).embeddings;
    const alone = await Promise.all(INPUTS.map(async (text) => (await embedder.embed([text])).embeddings[0]));
    for (const [i, vector] of together.entries()) expect(maxAbsDiff(vector, alone[i])).toBeLessThanOrEqual(1e-5);
  });
});
