// The parity suite every model family runs against transformers.js on the same tokenizer files:
// ids with and without add_special_tokens, decode, decode(skip_special_tokens) and the streaming
// detokenizer (any chunking equals the one-shot decode). One test file per family, so each loads its
// (up to 33 MB) tokenizer.json once and the files run in parallel.

import { Detokenizer } from "@llm/detokenize";
import { familyDir, type ModelFamily } from "@llm/testing";
import { beforeAll, describe, expect, it } from "vitest";
import { seededRandom } from "../../../bench/corpus/corpus.js";
import { Tokenizer } from "../src/index.js";
import { familyCorpus } from "./corpus.js";
import { type OracleTokenizer, oracle } from "./families.js";

const corpus = Object.entries(familyCorpus());

/** Decodes `ids` through the streaming detokenizer, pushed in random chunks of 1–5 ids. */
function streamDecode(tokenizer: Tokenizer, ids: readonly number[], skipSpecialTokens: boolean, seed: number): string {
  const random = seededRandom(seed);
  const detokenizer = new Detokenizer(tokenizer, { skipSpecialTokens });
  let text = "";
  for (let at = 0; at < ids.length; ) {
    const size = 1 + Math.floor(random() * 5);
    text += detokenizer.push(ids.slice(at, at + size)).text;
    at += size;
  }
  return text + detokenizer.flush().text;
}

const WEATHER_TOOL = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Current weather in a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};

/** Conversations every template must render as transformers.js does (alternating roles, for Gemma). */
const CONVERSATIONS: [string, Record<string, unknown>[], unknown[] | undefined][] = [
  ["one user turn", [{ role: "user", content: "Hello! What's 2+2?" }], undefined],
  [
    "system and a finished exchange",
    [
      { role: "system", content: "You are terse." },
      { role: "user", content: "Name a colour." },
      { role: "assistant", content: "Blue." },
      { role: "user", content: "Another, in 日本語 please 🎨" },
    ],
    undefined,
  ],
  ["with tools", [{ role: "user", content: "Weather in Paris?" }], [WEATHER_TOOL]],
  [
    "a tool call and its result",
    [
      { role: "user", content: "Weather in Paris?" },
      {
        role: "assistant",
        content: "",
        tool_calls: [
          { id: "call_1", type: "function", function: { name: "get_weather", arguments: { city: "Paris" } } },
        ],
      },
      { role: "tool", tool_call_id: "call_1", content: '{"celsius": 18}' },
    ],
    [WEATHER_TOOL],
  ],
  [
    "roles that do not alternate",
    [
      { role: "user", content: "a" },
      { role: "user", content: "b" },
    ],
    undefined,
  ],
];

/** transformers.js's answer, or the message of the error its template raised. */
function peerRender(peer: OracleTokenizer, messages: unknown[], options: Record<string, unknown>): unknown {
  try {
    return peer.apply_chat_template(messages, options);
  } catch (err) {
    return { raised: (err as Error).message };
  }
}

export function familyParitySuite(family: ModelFamily): void {
  let ours: Tokenizer;
  let peer: OracleTokenizer;

  beforeAll(async () => {
    ours = await Tokenizer.fromFile(familyDir(family));
    peer = await oracle(family);
  }, 120_000);

  describe(`${family} equals transformers.js`, () => {
    it.each(corpus)("%s: ids with and without add_special_tokens", (_name, text) => {
      for (const addSpecialTokens of [false, true]) {
        const expected = peer.encode(text, { add_special_tokens: addSpecialTokens });
        expect(Array.from(ours.encode(text, { allowSpecial: true, addSpecialTokens }))).toEqual(expected);
      }
    });

    it.each(corpus)("%s: decode, decode(skip_special_tokens) and the streaming decode", (name, text) => {
      const ids = peer.encode(text, { add_special_tokens: true });
      if (ids.length === 0) return; // transformers.js refuses to decode nothing
      for (const skip of [false, true]) {
        const expected = peer.decode(ids, { skip_special_tokens: skip });
        expect(ours.decode(ids, { skipSpecialTokens: skip })).toBe(expected);
        for (const seed of [1, 2]) expect(streamDecode(ours, ids, skip, seed + name.length)).toBe(expected);
      }
    });
  });

  describe(`${family} chat template`, () => {
    it.each(CONVERSATIONS)("%s: rendered text and ids equal apply_chat_template", (_name, messages, tools) => {
      if (!ours.hasChatTemplate) {
        expect(() => ours.applyChatTemplate(messages as never)).toThrow(/LLM_CHAT_TEMPLATE/);
        return;
      }
      for (const addGenerationPrompt of [false, true]) {
        const options = { add_generation_prompt: addGenerationPrompt, tools: tools ?? null };
        const text = peerRender(peer, messages, { ...options, tokenize: false });
        const render = () => ours.applyChatTemplate(messages as never, { addGenerationPrompt, tools });
        if (typeof text !== "string") {
          // The template raised (Gemma: roles must alternate): the same message, as INVALID_ARGUMENT.
          const { raised } = text as { raised: string };
          expect(render).toThrow(
            expect.objectContaining({ code: "invalid_argument", message: expect.stringContaining(raised) }),
          );
          continue;
        }
        const ids = peer.apply_chat_template(messages, { ...options, return_tensor: false, return_dict: false });
        expect(render()).toBe(text);
        expect(Array.from(ours.encode(render(), { allowSpecial: true }))).toEqual(ids);
      }
    });

    it("passes chat_template_kwargs to the template (Qwen 3's enable_thinking)", () => {
      if (!ours.hasChatTemplate) return;
      const messages = [{ role: "user", content: "Think?" }];
      for (const enable_thinking of [false, true]) {
        const expected = peerRender(peer, messages, { add_generation_prompt: true, enable_thinking, tokenize: false });
        const kwargs = { enable_thinking };
        expect(ours.applyChatTemplate(messages, { addGenerationPrompt: true, kwargs })).toBe(expected);
      }
    });
  });

  describe(`${family} special-token text`, () => {
    it("becomes control tokens only when allowed; as plain text it yields no special id", () => {
      const [, literals] = corpus.find(([name]) => name === "specialLiterals") as [string, string];
      const plain = ours.encode(literals);
      expect(Array.from(plain).filter((id) => ours.isSpecial(id))).toEqual([]);
      expect(ours.decode(plain)).toBe(peer.decode(Array.from(plain), {}));
    });
  });
}
