import { get_encoding } from "tiktoken";
import { describe, expect, it } from "vitest";
import { Tokenizer } from "../src/index.js";
import { gpt2Config, gpt2Json, gpt2Tokenizer } from "./gpt2.js";

const EOT = "<|endoftext|>";
const tokenizer = gpt2Tokenizer();

/** GPT-2 plus extra added tokens (ids after the vocabulary). */
function withAddedTokens(...tokens: object[]): Tokenizer {
  const json = gpt2Json();
  (json.added_tokens as object[]).push(...tokens);
  return Tokenizer.fromJson(json, gpt2Config());
}

describe("special tokens", () => {
  it("reads bos/eos and the special-token set from the files", () => {
    expect(tokenizer.eosTokenId).toBe(50256);
    expect(tokenizer.bosTokenId).toBe(50256);
    expect(tokenizer.specialTokens).toEqual(new Map([[EOT, 50256]]));
    expect(tokenizer.isSpecial(50256)).toBe(true);
    expect(tokenizer.isSpecial(0)).toBe(false);
    expect(tokenizer.isSpecial(-1)).toBe(false);
  });

  it("with allowSpecial, <|endoftext|> becomes 50256 exactly where tiktoken puts it", () => {
    const tiktoken = get_encoding("gpt2");
    try {
      for (const text of [`a${EOT}b`, `${EOT}`, `x ${EOT} y`, `${EOT}${EOT}\n${EOT}  z`, `hello  ${EOT}`]) {
        expect(Array.from(tokenizer.encode(text, { allowSpecial: true }))).toEqual(
          Array.from(tiktoken.encode(text, "all")),
        );
      }
    } finally {
      tiktoken.free();
    }
  });

  it("without allowSpecial, <|endoftext|> is ordinary text", () => {
    const ids = Array.from(tokenizer.encode(`say ${EOT}`));
    expect(ids).not.toContain(50256);
    expect(tokenizer.decode(ids)).toBe(`say ${EOT}`);
  });

  it("decode keeps special tokens unless asked to skip them", () => {
    const ids = tokenizer.encode(`Hi${EOT}there`, { allowSpecial: true });
    expect(tokenizer.decode(ids)).toBe(`Hi${EOT}there`);
    expect(tokenizer.decode(ids, { skipSpecialTokens: true })).toBe("Hithere");
    expect(tokenizer.decodeBytes(ids, { skipSpecialTokens: true })).toEqual(new TextEncoder().encode("Hithere"));
  });

  it("non-special added tokens are always matched; special ones only when allowed", () => {
    const custom = withAddedTokens(
      { id: 50257, content: "<tool>", special: false },
      { id: 50258, content: "<|im_start|>", special: true },
    );
    expect(custom.vocabSize).toBe(50259);
    expect(Array.from(custom.encode("a<tool>b"))).toEqual([64, 50257, 65]);
    expect(Array.from(custom.encode("<|im_start|>x"))).not.toContain(50258);
    expect(Array.from(custom.encode("<|im_start|>x", { allowSpecial: true }))).toEqual([50258, 87]);
    expect(custom.decode([50257, 50258])).toBe("<tool><|im_start|>");
    expect(custom.isSpecial(50257)).toBe(false);
  });

  it("prefers the longest added token at a position", () => {
    const custom = withAddedTokens({ id: 50257, content: "<|end", special: true });
    expect(Array.from(custom.encode(`${EOT}<|end`, { allowSpecial: true }))).toEqual([50256, 50257]);
  });

  it("lstrip/rstrip tokens swallow adjacent white space; single_word ones need word boundaries", () => {
    const custom = withAddedTokens(
      { id: 50257, content: "<mask>", special: true, lstrip: true, rstrip: true },
      { id: 50258, content: "unk", special: true, single_word: true },
    );
    expect(Array.from(custom.encode("a  <mask>  b", { allowSpecial: true }))).toEqual([64, 50257, 65]);
    expect(Array.from(custom.encode("an unk here", { allowSpecial: true }))).toContain(50258);
    expect(Array.from(custom.encode("funky", { allowSpecial: true }))).not.toContain(50258);
  });
});
