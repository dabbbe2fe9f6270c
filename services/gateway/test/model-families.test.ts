// A model folder carrying a real model family's tokenizer (Llama 2: SentencePiece BPE with byte fallback,
// no chat template) served end to end with the official `openai` client. The graph is the bundled tiny GPT-2
// (random weights, vocabulary 50,257): Llama 2's 32,000 ids all fit it, so prompts run for real; the output
// is pinned to one token with logit_bias so every generated id is also a Llama 2 id. Families with more ids
// than the graph (Llama 3, Qwen, Gemma) would be refused by the runner, honestly: their tokenizers are
// covered by the parity tests instead.
import { cp, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureModel } from "@llm/model-pack";
import { familyDir, ServiceGroup } from "@llm/testing";
import { Tokenizer } from "@llm/tokenizer";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// Llama 2's chat format, as its original tokenizer_config.json shipped it (with the alternation check).
const LLAMA2_TEMPLATE =
  "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}" +
  "{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}" +
  "{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}" +
  "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' ' + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";
const PINNED = 450; // the one token logit_bias lets the random model say
const BOS = 1;

const services = new ServiceGroup();
let llama2: Tokenizer;
let openai: OpenAI; // LLM_CHAT_TEMPLATE set, special-token text is control text (the default)
let safe: OpenAI; // no template override, LLM_SPECIAL_TOKEN_TEXT=reject

beforeAll(async () => {
  const tiny = await ensureModel("tiny");
  const root = await mkdtemp(join(tmpdir(), "llm-families-"));
  const dir = join(root, "llama2-tiny");
  await cp(tiny.dir, dir, { recursive: true });
  await cp(join(familyDir("llama2"), "tokenizer.json"), join(dir, "tokenizer.json"));
  await cp(join(familyDir("llama2"), "tokenizer_config.json"), join(dir, "tokenizer_config.json"));
  const templateFile = join(root, "llama2.jinja");
  await writeFile(templateFile, LLAMA2_TEMPLATE);
  llama2 = await Tokenizer.fromFile(dir, { chatTemplate: LLAMA2_TEMPLATE }); // as the gateway's tokenizer is set up

  const modelEnv = { LLM_MODEL_DIR: dir };
  const timeoutMs = 60_000; // a shared CI box may be slow to start six services
  const [withTemplate, rejecting, runner, detokenizer] = await services.start([
    [
      "services/tokenizer/src/main.ts",
      { name: "tokenizer", env: { ...modelEnv, LLM_CHAT_TEMPLATE: templateFile }, timeoutMs },
    ],
    [
      "services/tokenizer/src/main.ts",
      { name: "tokenizer-safe", env: { ...modelEnv, LLM_SPECIAL_TOKEN_TEXT: "reject" }, timeoutMs },
    ],
    ["services/model-runner/src/main.ts", { name: "model-runner", env: modelEnv, timeoutMs }],
    ["services/detokenizer/src/main.ts", { name: "detokenizer", env: modelEnv, timeoutMs }],
  ]);
  const upstreams = { LLM_RUNNER_URL: runner.address, LLM_DETOKENIZER_URL: detokenizer.address };
  const gateways = await services.start([
    [
      "services/gateway/src/main.ts",
      { name: "gateway", env: { ...upstreams, LLM_TOKENIZER_URL: withTemplate.address }, timeoutMs },
    ],
    [
      "services/gateway/src/main.ts",
      { name: "gateway-safe", env: { ...upstreams, LLM_TOKENIZER_URL: rejecting.address }, timeoutMs },
    ],
  ]);
  const [url, safeUrl] = await Promise.all(gateways.map((gateway) => gateway.listening("gateway-http")));
  openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: "unused", maxRetries: 0 });
  safe = new OpenAI({ baseURL: `${safeUrl}/v1`, apiKey: "unused", maxRetries: 0 });
}, 180_000);

afterAll(async () => {
  const exits = await services.stopAll();
  expect(exits.map((e) => e.code)).toEqual(exits.map(() => 0));
});

const pinned = { max_tokens: 3, temperature: 0, logit_bias: { [PINNED]: 100 } };

/** The status and message of a refused call. */
async function refusal(call: Promise<unknown>): Promise<{ status: number; message: string }> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof OpenAI.APIError)) throw new Error(`expected an API error, got ${String(err)}`);
  return { status: err.status as number, message: err.message };
}

describe("a model folder with Llama 2's tokenizer, through the gateway", () => {
  it("answers /v1/chat/completions with the deployment's template: one BOS, text decoded as Llama 2 does", async () => {
    const messages = [
      { role: "system" as const, content: "Be brief." },
      { role: "user" as const, content: "Héllo, wörld! 👋 How are you?" },
    ];
    const rendered = llama2.applyChatTemplate(messages, { addGenerationPrompt: true });
    const promptIds = Array.from(llama2.encode(rendered, { allowSpecial: true }));
    expect(promptIds.filter((id) => id === BOS)).toEqual([BOS]); // the template's BOS, no second one
    const expectedText = llama2.decode([PINNED, PINNED, PINNED]);

    const chat = await openai.chat.completions.create({ model: "llama2-tiny", messages, ...pinned });
    expect(chat.choices[0]?.message.content).toBe(expectedText);
    expect(chat.usage).toMatchObject({ prompt_tokens: promptIds.length, completion_tokens: 3 });

    const stream = await openai.chat.completions.create({ model: "llama2-tiny", messages, ...pinned, stream: true });
    let streamed = "";
    for await (const chunk of stream) streamed += chunk.choices[0]?.delta.content ?? "";
    expect(streamed).toBe(expectedText);
  });

  it("gives text prompts the BOS its post-processor adds, unless add_special_tokens is false", async () => {
    const prompt = "It was a bright cold day in April";
    const withBos = await openai.completions.create({ model: "llama2-tiny", prompt, ...pinned });
    expect(withBos.usage?.prompt_tokens).toBe(llama2.encode(prompt, { addSpecialTokens: true }).length);
    expect(withBos.usage?.prompt_tokens).toBe(llama2.encode(prompt).length + 1);
    const params = { model: "llama2-tiny", prompt, ...pinned, add_special_tokens: false };
    const without = await openai.completions.create(params as OpenAI.CompletionCreateParamsNonStreaming);
    expect(without.usage?.prompt_tokens).toBe(llama2.encode(prompt).length);
  });

  it("encodes special-token text in a prompt as the control token by default", async () => {
    const prompt = "one</s>two";
    const completion = await openai.completions.create({ model: "llama2-tiny", prompt, ...pinned });
    const asControl = llama2.encode(prompt, { allowSpecial: true, addSpecialTokens: true });
    expect(Array.from(asControl)).toContain(2);
    expect(completion.usage?.prompt_tokens).toBe(asControl.length);
  });

  it("returns the template's own error as 400", async () => {
    const messages = [
      { role: "user" as const, content: "a" },
      { role: "user" as const, content: "b" },
    ];
    const { status, message } = await refusal(openai.chat.completions.create({ model: "llama2-tiny", messages }));
    expect(status).toBe(400);
    expect(message).toContain("Conversation roles must alternate");
  });
});

describe("the same folder in a deployment without a template that refuses special-token text", () => {
  it("refuses chat naming LLM_CHAT_TEMPLATE instead of inventing a format", async () => {
    const messages = [{ role: "user" as const, content: "Hi" }];
    const { status, message } = await refusal(safe.chat.completions.create({ model: "llama2-tiny", messages }));
    expect(status).toBe(412); // FAILED_PRECONDITION
    expect(message).toContain("LLM_CHAT_TEMPLATE");
  });

  it("refuses special-token text in a prompt or a message, naming the token and the setting; plain prompts run", async () => {
    const { status, message } = await refusal(
      safe.completions.create({ model: "llama2-tiny", prompt: "one</s>two", ...pinned }),
    );
    expect(status).toBe(400);
    expect(message).toContain('"</s>"');
    expect(message).toContain("LLM_SPECIAL_TOKEN_TEXT=reject");
    const chat = safe.chat.completions.create({ model: "llama2-tiny", messages: [{ role: "user", content: "a<s>b" }] });
    expect(await refusal(chat)).toMatchObject({ status: 400, message: expect.stringContaining("messages[0].content") });
    const fine = await safe.completions.create({ model: "llama2-tiny", prompt: "one two", ...pinned });
    expect(fine.choices[0]?.text).toBe(llama2.decode([PINNED, PINNED, PINNED]));
  });
});
