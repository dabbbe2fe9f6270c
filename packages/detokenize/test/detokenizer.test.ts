import { END_OF_TEXT_ID } from "@llm/model-pack";
import { get_encoding } from "tiktoken";
import { describe, expect, it } from "vitest";
import { Detokenizer } from "../src/index.js";
import { drive, oneByOne } from "./drive.js";
import { gpt2Encode, gpt2TokenBytesSource, referenceDecode } from "./gpt2.js";

const source = gpt2TokenBytesSource();

const SAMPLES = {
  zwjFamily: "Family: 👨‍👩‍👧‍👦 and 👩‍❤️‍💋‍👨 done",
  flags: "Flags 🇯🇵🇫🇷🇧🇷 and 🏴󠁧󠁢󠁳󠁣󠁴󠁿 ok",
  skinTones: "Waves 👋🏻👋🏼👋🏽👋🏾👋🏿 and 🧑🏽‍🚀",
  cjk: "日本語のテキスト、中文文本，한국어 텍스트。𠜎𠜱𠝹",
  arabic: "مرحبا بالعالم! هذا نص عربي مع أرقام ١٢٣",
  mixed: "Price: 12€ — naïve café, Ελληνικά, русский, हिन्दी, 🎉🚀\n\tend",
};

/** Deterministic pseudo-random piece sizes 1..4 (a fixed seed keeps failures reproducible). */
function randomPieceSizes(count: number, seed: number): number[] {
  let state = seed;
  return Array.from({ length: count }, () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return 1 + (state % 4);
  });
}

/** True when some token's bytes are not valid UTF-8 on their own: the text really splits characters. */
function splitsCharacters(ids: readonly number[]): boolean {
  const strict = new TextDecoder("utf-8", { fatal: true });
  return ids.some((id) => {
    try {
      strict.decode(source.tokenBytes(id));
      return false;
    } catch {
      return true;
    }
  });
}

describe("GPT-2 token source used by these tests", () => {
  it("gives every token the same bytes as tiktoken's gpt2 encoding", () => {
    const encoding = get_encoding("gpt2");
    const differing: number[] = [];
    for (let id = 0; id < END_OF_TEXT_ID; id++) {
      if (!Buffer.from(encoding.decode_single_token_bytes(id)).equals(source.tokenBytes(id))) differing.push(id);
    }
    encoding.free();
    expect(source.vocabSize).toBe(50257);
    expect(differing).toEqual([]);
  });
});

describe("Detokenizer on real GPT-2 tokens", () => {
  for (const [name, text] of Object.entries(SAMPLES)) {
    it(`${name}: whole characters in every delta, one token at a time and in random pieces`, () => {
      const ids = gpt2Encode(text);
      expect(splitsCharacters(ids)).toBe(true);
      expect(referenceDecode(source, ids)).toBe(text);
      for (const pieces of [oneByOne(ids), randomPieceSizes(ids.length, 1), randomPieceSizes(ids.length, 2)]) {
        const { deltas, text: output } = drive(source, ids, pieces);
        expect(output).toBe(text);
        for (const delta of deltas) expect(delta).not.toContain("\uFFFD");
      }
    });
  }

  it("emits each character as soon as its last byte arrives", () => {
    const ids = gpt2Encode("👍!");
    const detokenizer = new Detokenizer(source);
    const texts = ids.map((id) => detokenizer.push(id).text);
    // 👍 spans several tokens: nothing until its final token, then the whole emoji.
    expect(ids.length).toBeGreaterThan(2);
    expect(texts.slice(0, -2).join("")).toBe("");
    expect(texts.at(-2)).toBe("👍");
    expect(texts.at(-1)).toBe("!");
    expect(detokenizer.flush().text).toBe("");
  });

  it("turns a character cut off at the end of the stream into U+FFFD at flush only", () => {
    const ids = gpt2Encode("ok 👍").slice(0, -1);
    const { deltas, text } = drive(source, ids, oneByOne(ids));
    expect(text).toBe(referenceDecode(source, ids));
    expect(text.endsWith("\uFFFD")).toBe(true);
    expect(deltas.slice(0, -1).join("")).not.toContain("\uFFFD");
  });

  it("skips special tokens by default and includes their text when asked", () => {
    const ids = [...gpt2Encode("Hello"), END_OF_TEXT_ID, ...gpt2Encode(" world")];
    expect(drive(source, ids, oneByOne(ids)).text).toBe("Hello world");
    expect(drive(source, ids, oneByOne(ids), { skipSpecialTokens: false }).text).toBe("Hello<|endoftext|> world");
  });

  it("joins a character's bytes across a skipped special token", () => {
    const [first, ...rest] = gpt2Encode("👍");
    const ids = [first, END_OF_TEXT_ID, ...rest];
    expect(drive(source, ids, oneByOne(ids)).text).toBe("👍");
    const withSpecial = drive(source, ids, oneByOne(ids), { skipSpecialTokens: false }).text;
    expect(withSpecial).toBe(referenceDecode(source, ids, false));
    expect(withSpecial).toContain("\uFFFD<|endoftext|>");
  });

  it("keeps tokens that are not special when skipping special tokens", () => {
    const ids = gpt2Encode("<|endoftext|> as plain text");
    expect(ids).not.toContain(END_OF_TEXT_ID);
    expect(drive(source, ids, oneByOne(ids)).text).toBe("<|endoftext|> as plain text");
  });
});
