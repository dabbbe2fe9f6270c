// Greedy output of the whole pipeline (five real service processes, gateway Generate) against transformers.js
// `generate()` on the same model folder and ONNX file, token for token: an independent implementation of inference.
// On `tiny` (random weights, GPT-2's tokenizer), on `demo` (trained weights, its own byte-level BPE), and on the
// Llama-architecture builds (GQA; head_dim != hidden/heads with Qwen 3's padded vocabulary) in fp32 and fp16.
import { readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
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

const SHARED_PREFIX =
  "System: you are a careful assistant. Answer briefly, cite sources, and never invent facts. " +
  "If a question is ambiguous, ask for clarification first.\n";

interface Case {
  prompt: string;
  maxTokens: number;
}

/** Prose, code, JSON, CJK, emoji, digits, whitespace; from one token to a long prompt (`LONG`, per model). */
const CASES: Case[] = [
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
  { prompt: `${SHARED_PREFIX}User: what is a prefix cache?\nAssistant:`, maxTokens: 24 },
];
/** Prompts in the demo model's own language: its continuations are real English. */
const SCRIPTURE: Case[] = [
  { prompt: "In the beginning", maxTokens: 32 },
  { prompt: "And the LORD spake unto Moses, saying,", maxTokens: 40 },
  { prompt: "The LORD is my shepherd;", maxTokens: 24 },
  { prompt: "And it came to pass, when the king heard", maxTokens: 32 },
  { prompt: "Blessed are the", maxTokens: 16 },
  { prompt: "And Jesus answered and said unto them,", maxTokens: 40 },
];
const PRINTING_PRESS = "The history of the printing press. ".repeat(40); // ≈ 280 tokens: chunked prefill
/** `dtype`: transformers.js's name of the ONNX file both sides load (fp32 = onnx/model.onnx). */
const MODELS = [
  { preset: "tiny", dtype: "fp32", extra: [], long: PRINTING_PRESS },
  { preset: "demo", dtype: "fp32", extra: SCRIPTURE, long: "And the LORD spake unto Moses, saying, ".repeat(10) }, // ≈ 100 of its 128
  { preset: "llama-tiny", dtype: "fp32", extra: [], long: PRINTING_PRESS },
  { preset: "llama-tiny", dtype: "fp16", extra: [], long: PRINTING_PRESS },
  { preset: "llama-tiny-headdim", dtype: "fp32", extra: [], long: PRINTING_PRESS },
  { preset: "llama-tiny-headdim", dtype: "fp16", extra: [], long: PRINTING_PRESS },
] as const;

interface Ours {
  ids: number[];
  text: string;
  finishReason: FinishReason | undefined;
  promptTokens: number;
  cachedPromptTokens: number;
}

async function ours(
  client: ServiceClient<typeof GenerationService>,
  modelId: string,
  prompt: string,
  maxTokens: number,
): Promise<Ours> {
  const out: Ours = { ids: [], text: "", finishReason: undefined, promptTokens: 0, cachedPromptTokens: 0 };
  const stream = client.generate({
    model: modelId,
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

interface Peer {
  tokenizer: PreTrainedTokenizer;
  model: PreTrainedModel;
  /** From the folder's config.json and generation_config.json. */
  eos: number[];
}

/** transformers.js greedy: the new ids (its output includes the prompt) and the prompt's length. */
async function theirs(
  { tokenizer, model }: Peer,
  prompt: string,
  maxTokens: number,
): Promise<{ ids: number[]; promptTokens: number }> {
  const inputs = tokenizer(prompt);
  const promptTokens = (inputs.input_ids as Tensor).dims[1];
  const output = (await model.generate({ ...inputs, max_new_tokens: maxTokens, do_sample: false })) as Tensor;
  return { ids: Array.from(output.data as BigInt64Array, Number).slice(promptTokens), promptTokens };
}

async function expectParity(peer: Peer, cases: Case[], results: Ours[]): Promise<void> {
  for (const [i, { prompt, maxTokens }] of cases.entries()) {
    const expected = await theirs(peer, prompt, maxTokens);
    const got = results[i];
    const label = `${JSON.stringify(prompt.slice(0, 40))} (max ${maxTokens})`;
    expect(got.ids, label).toEqual(expected.ids);
    expect(got.promptTokens, label).toBe(expected.promptTokens);
    expect(got.text, label).toBe(peer.tokenizer.decode(expected.ids, { skip_special_tokens: true }));
    const reason = peer.eos.includes(expected.ids.at(-1) ?? -1) ? FinishReason.EOS : FinishReason.LENGTH;
    expect(got.finishReason, label).toBe(reason);
    if (reason === FinishReason.LENGTH) expect(got.ids, label).toHaveLength(maxTokens);
  }
}

describe.each(MODELS)(
  "$preset ($dtype): greedy generation through the gateway == transformers.js generate()",
  (spec) => {
    const cases = [...spec.extra, ...CASES, { prompt: spec.long, maxTokens: 24 }];
    /** Second wave, after the first finished: shares whole 16-token blocks with earlier prompts (prefix-cache hits). */
    const repeats = [
      { prompt: `${SHARED_PREFIX}User: and what is a KV cache?\nAssistant:`, maxTokens: 24 },
      { prompt: spec.long, maxTokens: 24 },
    ];
    let pipeline: Pipeline;
    let client: ServiceClient<typeof GenerationService>;
    let peer: Peer;

    beforeAll(async () => {
      const built = await ensureModel(spec.preset);
      env.allowRemoteModels = false;
      env.localModelPath = dirname(built.dir);
      const [started, tokenizer, model] = await Promise.all([
        startPipeline({ dir: built.dir, id: spec.preset, file: spec.dtype }),
        AutoTokenizer.from_pretrained(basename(built.dir)),
        AutoModelForCausalLM.from_pretrained(basename(built.dir), { dtype: spec.dtype, device: "cpu" }),
      ]);
      const eosOf = (file: string) => [JSON.parse(readFileSync(join(built.dir, file), "utf8")).eos_token_id].flat();
      const eos = [...eosOf("config.json"), ...eosOf("generation_config.json")];
      [pipeline, peer] = [started, { tokenizer, model, eos }];
      client = createClient(GenerationService, pipeline.gateway);
    }, 180_000);

    afterAll(async () => {
      client?.close();
      await peer?.model.dispose();
      if (pipeline) expect(Object.values(await pipeline.stop())).toEqual([0, 0, 0, 0, 0]);
    });

    it(`matches token for token on ${cases.length + repeats.length} varied prompts, batched and with prefix-cache hits`, async () => {
      // All at once: the runner batches them, requests joining and leaving as each one finishes.
      const generate = ({ prompt, maxTokens }: Case) => ours(client, spec.preset, prompt, maxTokens);
      const first = await Promise.all(cases.map(generate));
      const again = await Promise.all(repeats.map(generate));
      for (const [i, result] of again.entries()) {
        expect(result.cachedPromptTokens, `repeat ${i} reuses cached blocks`).toBeGreaterThanOrEqual(16);
      }
      await expectParity(peer, cases, first);
      await expectParity(peer, repeats, again);
    }, 180_000);
  },
);
