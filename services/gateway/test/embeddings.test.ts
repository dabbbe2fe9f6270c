// POST /v1/embeddings and the gateway's gRPC EmbeddingService on a real pipeline (tokenizer, runner, detokenizer,
// embedder and gateway processes): the vectors equal transformers.js's feature-extraction pipeline on the same
// bundled encoder folder, batched equals alone, the official openai client works (float and base64), and every
// bad request gets a clear status.
import { basename, dirname } from "node:path";
import { env, type FeatureExtractionPipeline, pipeline } from "@huggingface/transformers";
import { ensureModel } from "@llm/model-pack";
import { EmbeddingService } from "@llm/proto";
import { createClient, type ServiceClient } from "@llm/rpc";
import { VARIED_TEXTS } from "@llm/testing";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalGateway, startLocalGateway } from "./gateway-kit.js";

const MODEL = "embed-tiny";
/** Varied inputs under the model's 512 tokens (beyond it transformers.js truncates away the [SEP]; we keep it). */
const INPUTS = [...VARIED_TEXTS];

let local: LocalGateway;
let openai: OpenAI;
let extractor: FeatureExtractionPipeline;
let grpc: ServiceClient<typeof EmbeddingService>;

beforeAll(async () => {
  local = await startLocalGateway({}, { embedder: true });
  openai = new OpenAI({ baseURL: `${local.url}/v1`, apiKey: "unused", maxRetries: 0 });
  grpc = createClient(EmbeddingService, local.grpc);
  const model = await ensureModel(MODEL);
  env.allowRemoteModels = false;
  env.localModelPath = dirname(model.dir);
  extractor = await pipeline("feature-extraction", basename(model.dir), { dtype: "fp32", device: "cpu" });
}, 180_000);

afterAll(async () => {
  grpc?.close();
  await local?.services.stopAll();
});

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return a.length === b.length ? max : Number.POSITIVE_INFINITY;
}

interface Answer {
  error: { message: string };
  usage: { prompt_tokens: number };
}

async function post(body: unknown, path = "/v1/embeddings"): Promise<{ status: number; json: Answer }> {
  const response = await fetch(`${local.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Answer };
}

describe("/v1/embeddings", () => {
  it(`equals transformers.js feature-extraction (mean, normalize) within 1e-4 on ${INPUTS.length} varied inputs`, async () => {
    const response = await openai.embeddings.create({ model: MODEL, input: INPUTS, encoding_format: "float" });
    const expected = (await extractor(INPUTS, { pooling: "mean", normalize: true })).tolist() as number[][];
    const diffs = response.data.map(({ embedding, index }) => maxAbsDiff(embedding, expected[index]));
    console.log(
      `gateway vs transformers.js, ${INPUTS.length} inputs: max abs diff ${Math.max(...diffs).toExponential(2)}`,
    );
    expect(Math.max(...diffs)).toBeLessThanOrEqual(1e-4);
    expect(response.model).toBe(MODEL);
    expect(response.usage.prompt_tokens).toBeGreaterThan(INPUTS.length * 2);
  });

  it("batched == alone: the same vectors from one request of all inputs and from each input alone, at once", async () => {
    const together = await openai.embeddings.create({ model: MODEL, input: INPUTS, encoding_format: "float" });
    const alone = await Promise.all(
      INPUTS.map((input) => openai.embeddings.create({ model: MODEL, input, encoding_format: "float" })),
    );
    const worst = Math.max(...alone.map((r, i) => maxAbsDiff(r.data[0].embedding, together.data[i].embedding)));
    expect(worst).toBeLessThanOrEqual(1e-5);
  });

  it("bad requests among 64 concurrent ones are refused alone: the good ones get their own vectors", async () => {
    const alone = await openai.embeddings.create({ model: MODEL, input: INPUTS, encoding_format: "float" });
    const bad = [{ input: "" }, { input: [1, 99_999] }, { input: "x", dimensions: 0 }, { input: [] }];
    const answers = await Promise.all(
      Array.from({ length: 64 }, (_, i) =>
        i % 4 === 3
          ? post({ model: MODEL, ...bad[(i >> 2) % bad.length] })
          : post({ model: MODEL, input: INPUTS[i % INPUTS.length], encoding_format: "float" }),
      ),
    );
    answers.forEach((answer, i) => {
      if (i % 4 === 3) {
        expect(answer.status).toBe(400);
      } else {
        const vector = (answer.json as unknown as { data: { embedding: number[] }[] }).data[0].embedding;
        expect(maxAbsDiff(vector, alone.data[i % INPUTS.length].embedding)).toBeLessThanOrEqual(1e-5);
      }
    });
  });

  it("the openai client: base64 (its default, decoded by the client) and explicit base64 equal float", async () => {
    const float = await openai.embeddings.create({ model: MODEL, input: ["hello", "world"], encoding_format: "float" });
    const byDefault = await openai.embeddings.create({ model: MODEL, input: ["hello", "world"] });
    expect(byDefault.data.map((d) => d.embedding)).toEqual(float.data.map((d) => d.embedding));
    const base64 = await openai.embeddings.create({ model: MODEL, input: "hello", encoding_format: "base64" });
    const bytes = Buffer.from(base64.data[0].embedding as unknown as string, "base64");
    const decoded = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    expect(Array.from(decoded)).toEqual(float.data[0].embedding);
  });

  it("token ids and lists of token ids, dimensions and user", async () => {
    const ids = [7592, 2088]; // "hello world" in bert-base-uncased
    const fromText = await openai.embeddings.create({ model: MODEL, input: "hello world", encoding_format: "float" });
    const fromIds = await openai.embeddings.create({ model: MODEL, input: ids, encoding_format: "float" });
    const fromLists = await openai.embeddings.create({ model: MODEL, input: [ids, ids], encoding_format: "float" });
    expect(fromIds.data[0].embedding).toEqual(fromText.data[0].embedding);
    expect(fromLists.data).toHaveLength(2);
    const short = await openai.embeddings.create({
      model: MODEL,
      input: "hello world",
      dimensions: 32,
      user: "user-1",
      encoding_format: "float",
    });
    expect(short.data[0].embedding).toHaveLength(32);
    expect(Math.hypot(...short.data[0].embedding)).toBeCloseTo(1, 5);
  });

  it("an over-long input is truncated to 512 tokens, or refused with truncate: false", async () => {
    const long = "word ".repeat(2000);
    const cut = await post({ model: MODEL, input: long });
    expect(cut.status).toBe(200);
    expect(cut.json.usage.prompt_tokens).toBe(512);
    const refused = await post({ model: MODEL, input: long, truncate: false });
    expect(refused.status).toBe(400);
    expect(refused.json.error.message).toContain("at most 512 are accepted");
  });

  it.each([
    ["an empty string", { model: MODEL, input: "" }, 400, "input is an empty string"],
    ["an empty list", { model: MODEL, input: [] }, 400, "input is an empty list"],
    ["an empty string in a list", { model: MODEL, input: ["a", ""] }, 400, "input[1] is an empty string"],
    ["10,000 inputs", { model: MODEL, input: Array(10_000).fill("x") }, 400, "input has 10000 items; at most 2048"],
    ["an unknown model", { model: "nope", input: "x" }, 404, 'unknown model "nope"'],
    ["no model", { input: "x" }, 400, "model is required"],
    ["a generation model", { model: "tiny", input: "x" }, 400, 'model "tiny" is a generation model'],
    ["a token id outside the vocabulary", { model: MODEL, input: [1, 99_999] }, 400, "unknown token id 99999"],
    ["dimensions 0", { model: MODEL, input: "x", dimensions: 0 }, 400, "dimensions must be at least 1"],
    ["dimensions past the width", { model: MODEL, input: "x", dimensions: 129 }, 400, "from 1 to 128"],
    ["encoding_format other", { model: MODEL, input: "x", encoding_format: "int8" }, 400, "encoding_format must be"],
    ["mixed input kinds", { model: MODEL, input: ["x", 5] }, 400, "input[1] must be a string or a list of token ids"],
  ])("refuses %s: %i naming it", async (_name, body, status, message) => {
    const answer = await post(body);
    expect(answer.status).toBe(status);
    expect(answer.json.error.message).toContain(message);
  });

  it("the embedding model named for generation is a clear 400; /v1/models lists both kinds", async () => {
    const chat = await post({ model: MODEL, messages: [{ role: "user", content: "hi" }] }, "/v1/chat/completions");
    expect(chat.status).toBe(400);
    expect(chat.json.error.message).toContain('model "embed-tiny" is an embedding model: use POST /v1/embeddings');
    const models = await openai.models.list();
    expect(models.data.map((m) => m.id)).toEqual(["tiny", MODEL]);
    expect((await openai.models.retrieve(MODEL)).id).toBe(MODEL);
  });

  it("gRPC EmbeddingService on the gateway gives the HTTP route's vectors", async () => {
    const http = await openai.embeddings.create({ model: MODEL, input: "hello world", encoding_format: "float" });
    const response = await grpc.embed({ model: MODEL, inputs: [{ input: { case: "text", value: "hello world" } }] });
    expect(response.embeddings[0].values).toEqual(http.data[0].embedding);
    expect((await grpc.info({})).model).toBe(MODEL);
    await expect(
      grpc.embed({ model: "tiny", inputs: [{ input: { case: "text", value: "x" } }] }),
    ).rejects.toMatchObject({
      code: "invalid_argument",
    });
  });
});
