// Speculative decoding through the whole pipeline (six processes, the remote sampler as `npm start` runs it),
// asked for with the official `openai` client: the text is the text without it, for greedy and seeded requests
// streamed alone and concurrently; usage reports the proposals; a bad mode is a 400 naming the field.
import { ensureModel } from "@llm/model-pack";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Pipeline, startPipeline } from "./pipeline.js";

let pipeline: Pipeline | undefined;
let openai: OpenAI;

beforeAll(async () => {
  const [model, draft] = await Promise.all([ensureModel("demo"), ensureModel("demo-draft")]);
  // The fixed policy: the default one times steps and may propose nothing on a busy machine (it did in CI).
  pipeline = await startPipeline({ dir: model.dir, id: "demo" }, undefined, {
    LLM_DRAFT_MODEL_DIR: draft.dir,
    LLM_SPECULATIVE_POLICY: "fixed",
  });
  const url = (await pipeline.services.at(-1)?.listening("gateway-http")) ?? "";
  openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: "unused", maxRetries: 0 });
}, 180_000);

afterAll(async () => {
  await pipeline?.stop();
});

const PROMPTS = [
  "And God said, Let there be light: and there was light. And God said,",
  "In the beginning God created the heaven and the earth. In the beginning",
  "The LORD is my shepherd; I shall not want.",
  "And it came to pass, when",
];

type Mode = "off" | "ngram" | "draft";

async function complete(prompt: string, mode: Mode | undefined, seed: number | undefined) {
  // `speculative` is our extension: the client sends body fields it does not know as they are.
  const body: OpenAI.CompletionCreateParamsStreaming & { speculative?: Mode } = {
    model: "demo",
    prompt,
    max_tokens: 48,
    temperature: seed === undefined ? 0 : 0.9,
    seed,
    stream: true,
    stream_options: { include_usage: true },
    speculative: mode,
  };
  const stream = await openai.completions.create(body);
  let text = "";
  let usage: OpenAI.CompletionUsage | undefined;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.text ?? "";
    usage = chunk.usage ?? usage;
  }
  return { text, usage };
}

describe("speculative decoding through the gateway", () => {
  it("n-gram and draft give the text plain decoding gives, greedy and seeded, alone and 8 streams at once", async () => {
    const cases = PROMPTS.flatMap((prompt, i) => [
      { prompt, seed: undefined },
      { prompt, seed: 100 + i },
    ]);
    const plain = await Promise.all(cases.map(({ prompt, seed }) => complete(prompt, "off", seed)));
    for (const mode of ["ngram", "draft"] as const) {
      const together = await Promise.all(cases.map(({ prompt, seed }) => complete(prompt, mode, seed)));
      const alone = [];
      for (const { prompt, seed } of cases) alone.push(await complete(prompt, mode, seed));
      for (const [how, outputs] of [
        ["batched", together],
        ["alone", alone],
      ] as const) {
        outputs.forEach((output, i) => {
          expect(output.text, `${mode} case ${i}, ${how}`).toBe(plain[i].text);
          expect(plain[i].usage?.completion_tokens_details).toBeUndefined();
        });
        const details = outputs.map((output) => output.usage?.completion_tokens_details);
        const accepted = details.reduce((sum, d) => sum + (d?.accepted_prediction_tokens ?? 0), 0);
        expect(accepted, `${mode}, ${how}: tokens accepted`).toBeGreaterThan(0);
      }
    }
  }, 180_000);

  it("refuses an unknown mode with a 400 naming the field", async () => {
    const error = await complete(PROMPTS[0], "fast" as Mode, undefined).then(
      () => undefined,
      (err: { status?: number; message: string }) => err,
    );
    expect(error?.status).toBe(400);
    expect(error?.message).toMatch(/speculative must be "off", "ngram" or "draft", got "fast"/);
  });
});
