// Greedy output of the whole pipeline (five real service processes, gateway Generate) against transformers.js
// `generate()` on the same model folder, token for token: an independent implementation of GPT-2 inference.
import { basename, dirname } from "node:path";
import {
  AutoModelForCausalLM,
  AutoTokenizer,
  env,
  type PreTrainedModel,
  type PreTrainedTokenizer,
  type Tensor,
} from "@huggingface/transformers";
import { ensureModel } from "@llm/model-pack";
import { FinishReason, type GenerateResponse, GenerationService } from "@llm/proto";
import { createClient, type ServiceClient } from "@llm/rpc";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Pipeline, startPipeline } from "./pipeline.js";

const EOS = 50256;
const SHARED_PREFIX =
  "System: you are a careful assistant. Answer briefly, cite sources, and never invent facts. " +
  "If a question is ambiguous, ask for clarification first.\n";

/** Prose, code, JSON, CJK, emoji, digits, whitespace; from one token to past the engine's 256-token prefill chunk. */
const CASES: { prompt: string; maxTokens: number }[] = [
  { prompt: "Once upon a time", maxTokens: 48 },
  { prompt: "a", maxTokens: 32 },
  { prompt: "The quick brown fox jumps over the lazy dog.", maxTokens: 1 },
  { prompt: "It was the best of times, it was the worst of times, it was the age of wisdom,", maxTokens: 40 },
  { prompt: "function add(a: number, b: number): number {\n  return a + b;\n}\n\n", maxTokens: 32 },
  { prompt: "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n", maxTokens: 24 },
  { prompt: '{"id": 42, "tags": ["alpha", "beta"], "nested": {"ok": true, "ratio": 0.125}}', maxTokens: 20 },
  { prompt: "東京は日本の首都です。今日はいい天気ですね。", maxTokens: 32 },
  { prompt: "我们今天去公园散步，然后吃了饺子。", maxTokens: 16 },
  { prompt: "한국어 문장도 토큰화됩니다.", maxTokens: 12 },
  { prompt: "🚀🔥 launch day! 👩🏽‍💻 shipping 🇯🇵 🇺🇸 ❤️‍🔥", maxTokens: 24 },
  { prompt: "3.14159265358979323846264338327950288419716939937510", maxTokens: 24 },
  { prompt: "Invoice #0042: 17 items × $3.50 = $59.50 (due 2026-12-31)", maxTokens: 16 },
  { prompt: "    \n\n\t\t   trailing and leading whitespace   \n   ", maxTokens: 16 },
  { prompt: "mixed: naïve café — Ünïcödé, Ελληνικά, русский, עברית, العربية", maxTokens: 28 },
  { prompt: "SELECT name, COUNT(*) FROM users WHERE created_at > '2026-01-01' GROUP BY name;", maxTokens: 20 },
  { prompt: "<html><body><h1>Title</h1><p>Paragraph &amp; more</p></body></html>", maxTokens: 20 },
  { prompt: "Q: What's 2+2?\nA: 4\nQ: What's the capital of France?\nA:", maxTokens: 8 },
  { prompt: "don't won't can't I'm you're they've we'll she'd", maxTokens: 20 },
  { prompt: "Supercalifragilisticexpialidocious antidisestablishmentarianism", maxTokens: 20 },
  { prompt: "The history of the printing press. ".repeat(40), maxTokens: 24 }, // ≈ 280 tokens: chunked prefill
  { prompt: `${SHARED_PREFIX}User: what is a prefix cache?\nAssistant:`, maxTokens: 24 },
];
/** Second wave, after the first finished: shares whole 16-token blocks with earlier prompts (prefix-cache hits). */
const REPEATS: { prompt: string; maxTokens: number }[] = [
  { prompt: `${SHARED_PREFIX}User: and what is a KV cache?\nAssistant:`, maxTokens: 24 },
  { prompt: "The history of the printing press. ".repeat(40), maxTokens: 24 },
];

let pipeline: Pipeline;
let client: ServiceClient<typeof GenerationService>;
let tokenizer: PreTrainedTokenizer;
let model: PreTrainedModel;

beforeAll(async () => {
  const built = await ensureModel("tiny");
  env.allowRemoteModels = false;
  env.localModelPath = dirname(built.dir);
  [pipeline, tokenizer, model] = await Promise.all([
    startPipeline({ dir: built.dir, id: "tiny" }),
    AutoTokenizer.from_pretrained(basename(built.dir)),
    AutoModelForCausalLM.from_pretrained(basename(built.dir), { dtype: "fp32", device: "cpu" }),
  ]);
  client = createClient(GenerationService, pipeline.gateway);
}, 180_000);

afterAll(async () => {
  client?.close();
  await model?.dispose();
  if (pipeline) expect(Object.values(await pipeline.stop())).toEqual([0, 0, 0, 0, 0]);
});

interface Ours {
  ids: number[];
  text: string;
  finishReason: FinishReason | undefined;
  promptTokens: number;
  cachedPromptTokens: number;
}

async function ours(prompt: string, maxTokens: number): Promise<Ours> {
  const out: Ours = { ids: [], text: "", finishReason: undefined, promptTokens: 0, cachedPromptTokens: 0 };
  const stream = client.generate({
    model: "tiny",
    prompt: { case: "text", value: prompt },
    maxTokens,
    includeTokenIds: true,
    sampling: { temperature: 0 },
  }) as AsyncIterable<GenerateResponse>;
  for await (const { event } of stream) {
    if (event.case === "delta") {
      out.ids.push(...event.value.tokenIds);
      out.text += event.value.text;
    } else if (event.case === "final") {
      out.finishReason = event.value.finishReason;
      out.promptTokens = event.value.usage?.promptTokens ?? 0;
      out.cachedPromptTokens = event.value.usage?.cachedPromptTokens ?? 0;
    }
  }
  return out;
}

/** transformers.js greedy: the new ids (its output includes the prompt) and the prompt's length. */
async function theirs(prompt: string, maxTokens: number): Promise<{ ids: number[]; promptTokens: number }> {
  const inputs = tokenizer(prompt);
  const promptTokens = (inputs.input_ids as Tensor).dims[1];
  const output = (await model.generate({ ...inputs, max_new_tokens: maxTokens, do_sample: false })) as Tensor;
  return { ids: Array.from(output.data as BigInt64Array, Number).slice(promptTokens), promptTokens };
}

async function expectParity(cases: typeof CASES, results: Ours[]): Promise<void> {
  for (const [i, { prompt, maxTokens }] of cases.entries()) {
    const expected = await theirs(prompt, maxTokens);
    const got = results[i];
    const label = `${JSON.stringify(prompt.slice(0, 40))} (max ${maxTokens})`;
    expect(got.ids, label).toEqual(expected.ids);
    expect(got.promptTokens, label).toBe(expected.promptTokens);
    expect(got.text, label).toBe(tokenizer.decode(expected.ids, { skip_special_tokens: true }));
    const reason = expected.ids.at(-1) === EOS ? FinishReason.EOS : FinishReason.LENGTH;
    expect(got.finishReason, label).toBe(reason);
    if (reason === FinishReason.LENGTH) expect(got.ids, label).toHaveLength(maxTokens);
  }
}

describe("greedy generation through the gateway == transformers.js generate()", () => {
  it(`matches token for token on ${CASES.length + REPEATS.length} varied prompts, batched and with prefix-cache hits`, async () => {
    // All at once: the runner batches them, requests joining and leaving as each one finishes.
    const first = await Promise.all(CASES.map(({ prompt, maxTokens }) => ours(prompt, maxTokens)));
    const again = await Promise.all(REPEATS.map(({ prompt, maxTokens }) => ours(prompt, maxTokens)));
    for (const [i, result] of again.entries()) {
      expect(result.cachedPromptTokens, `repeat ${i} reuses cached blocks`).toBeGreaterThanOrEqual(16);
    }
    await expectParity(CASES, first);
    await expectParity(REPEATS, again);
  }, 180_000);
});
