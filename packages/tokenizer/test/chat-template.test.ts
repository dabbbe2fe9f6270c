import { familyDir } from "@llm/testing";
import { describe, expect, it } from "vitest";
import { Tokenizer } from "../src/index.js";
import { gpt2Config, gpt2Json, gpt2Tokenizer } from "./gpt2.js";

const messages = [
  { role: "system", content: "Be brief." },
  { role: "user", content: "Hi!" },
];

describe("chat templates", () => {
  it("the project's GPT-2 models carry ChatML as their template", () => {
    const tokenizer = gpt2Tokenizer();
    expect(tokenizer.applyChatTemplate(messages)).toBe(
      "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n",
    );
    expect(tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true })).toMatch(
      /<\|im_end\|>\n<\|im_start\|>assistant\n$/,
    );
  });

  it("a model without a template refuses chat, naming LLM_CHAT_TEMPLATE; the deployment override fills in", () => {
    const { chat_template: _, ...bare } = gpt2Config();
    expect(() => Tokenizer.fromJson(gpt2Json(), bare).applyChatTemplate(messages)).toThrow(
      expect.objectContaining({ code: "failed_precondition", message: expect.stringContaining("LLM_CHAT_TEMPLATE") }),
    );
    const overridden = Tokenizer.fromJson(gpt2Json(), bare, { chatTemplate: "{{ messages[1].content }}!" });
    expect(overridden.applyChatTemplate(messages)).toBe("Hi!!");
  });

  it("uses the model's chat_template with its bos/eos tokens", () => {
    const template =
      "{{ bos_token }}{% for m in messages %}[{{ m.role | upper }}] {{ m.content }}{{ eos_token }}{% endfor %}" +
      "{% if add_generation_prompt %}[ASSISTANT] {% endif %}";
    const tokenizer = Tokenizer.fromJson(gpt2Json(), { ...gpt2Config(), chat_template: template });
    const prompt = tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true });
    expect(prompt).toBe("<|endoftext|>[SYSTEM] Be brief.<|endoftext|>[USER] Hi!<|endoftext|>[ASSISTANT] ");
    expect(Array.from(tokenizer.encode(prompt, { allowSpecial: true })).filter((id) => id === 50256)).toHaveLength(3);
  });

  it("picks the 'default' entry of a list of named templates, and a caller's template over both", () => {
    const tokenizer = Tokenizer.fromJson(gpt2Json(), {
      ...gpt2Config(),
      chat_template: [
        { name: "tool_use", template: "TOOLS" },
        { name: "default", template: "{% for m in messages %}{{ m.content }};{% endfor %}" },
      ],
    });
    expect(tokenizer.applyChatTemplate(messages)).toBe("Be brief.;Hi!;");
    expect(tokenizer.applyChatTemplate(messages, { template: "{{ messages | length }}" })).toBe("2");
  });

  it("reports template errors and malformed messages as invalid_argument", () => {
    const tokenizer = gpt2Tokenizer();
    const raising =
      "{% if messages[0].role != 'user' %}{{ raise_exception('first message must be from the user') }}{% endif %}";
    expect(() => tokenizer.applyChatTemplate(messages, { template: raising })).toThrow(
      expect.objectContaining({ code: "invalid_argument", message: expect.stringContaining("must be from the user") }),
    );
    expect(() => tokenizer.applyChatTemplate(messages, { template: "{% for %}" })).toThrow(
      expect.objectContaining({ code: "invalid_argument", message: expect.stringContaining("does not parse") }),
    );
    expect(() => tokenizer.applyChatTemplate([{ role: "user", content: 42 as unknown as string }])).toThrow(
      expect.objectContaining({
        code: "invalid_argument",
        message: "messages[0].content must be a string or a list of content parts",
      }),
    );
    expect(() => tokenizer.applyChatTemplate([{ role: "", content: "x" }])).toThrow(/messages\[0\]\.role/);
  });

  it("a model template that does not parse is failed_precondition (a deployment problem)", () => {
    const tokenizer = Tokenizer.fromJson(gpt2Json(), { ...gpt2Config(), chat_template: "{% if %}" });
    expect(() => tokenizer.applyChatTemplate(messages)).toThrow(
      expect.objectContaining({ code: "failed_precondition" }),
    );
  });

  it("reads the tool-call syntax from the template: Qwen 3's tags, Llama 3.1's JSON, ChatML's default tags", async () => {
    const qwen = await Tokenizer.fromFile(familyDir("qwen3"));
    const llama = await Tokenizer.fromFile(familyDir("llama3_1"));
    expect(qwen.toolCallSyntax()).toBe("hermes");
    expect(llama.toolCallSyntax()).toBe("llama3_json");
    expect(gpt2Tokenizer().toolCallSyntax()).toBe("hermes");
    // A caller's template decides over the model's.
    expect(qwen.toolCallSyntax("<|start_header_id|>{{ messages[0].content }}")).toBe("llama3_json");
  });
});
