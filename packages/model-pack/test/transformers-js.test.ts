// transformers.js, an independent loader of Hugging Face model folders, on the folder this package builds.
import { basename, dirname } from "node:path";
import {
  AutoModelForCausalLM,
  AutoTokenizer,
  env,
  type PreTrainedModel,
  type PreTrainedTokenizer,
  type Tensor,
} from "@huggingface/transformers";
import type { InferenceSession } from "onnxruntime-node";
import { beforeAll, describe, expect, test } from "vitest";
import {
  emptyCache,
  gpt2Encode,
  greedyCached,
  leftPadded,
  maxAbsDiff,
  openSession,
  runOrt,
  TINY,
  tinyModel,
} from "./helpers.js";

const shape = TINY.shape;
let tokenizer: PreTrainedTokenizer;
let model: PreTrainedModel;
let session: InferenceSession;

beforeAll(async () => {
  const { dir } = await tinyModel();
  env.allowRemoteModels = false;
  env.localModelPath = dirname(dir);
  tokenizer = await AutoTokenizer.from_pretrained(basename(dir));
  model = await AutoModelForCausalLM.from_pretrained(basename(dir), { dtype: "fp32", device: "cpu" });
  session = await openSession(dir);
});

describe("transformers.js on the built folder", () => {
  test("its tokenizer encodes like tiktoken's gpt2", () => {
    const text = "Hello world! It's 2026: naïve café — 東京 🚀 costs $3.50, doesn't it?\n\n  Indented   spaces.";
    const ids = tokenizer.encode(text);
    expect(ids).toEqual(gpt2Encode(text));
    expect(tokenizer.encode("<|endoftext|>")).toEqual([50256]);
  });

  test("its forward pass gives our ORT logits", async () => {
    const text = "Serving pipelines stream tokens to clients.";
    const inputs = tokenizer(text);
    const { logits } = (await model(inputs)) as { logits: Tensor };
    const ours = await runOrt(session, shape, leftPadded([gpt2Encode(text)]), emptyCache(shape, 1), 0);
    expect(logits.dims).toEqual([...ours.dims]);
    const diff = maxAbsDiff(logits.data as Float32Array, ours.logits);
    console.log(`transformers.js vs our ORT run, ${logits.dims[1]} positions: max abs diff ${diff.toExponential(2)}`);
    expect(diff).toBeLessThanOrEqual(1e-5);
  });

  test("its greedy generate() picks the tokens of our cached greedy loop", async () => {
    const text = "The model runner keeps a cache";
    const steps = 10;
    const inputs = tokenizer(text);
    const output = (await model.generate({ ...inputs, max_new_tokens: steps, do_sample: false })) as Tensor;
    const prompt = gpt2Encode(text);
    const generated = Array.from(output.data as BigInt64Array, Number).slice(prompt.length);
    const ours = await greedyCached(session, shape, prompt, steps);
    console.log(`transformers.js greedy: ${generated.join(" ")}`);
    expect(generated).toEqual(ours.tokens);
  });
});
