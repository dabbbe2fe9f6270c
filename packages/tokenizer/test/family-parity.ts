// The parity suite every model family runs against transformers.js on the same tokenizer files:
// ids with and without add_special_tokens, decode, decode(skip_special_tokens) and the streaming
// detokenizer (any chunking equals the one-shot decode). One test file per family, so each loads its
// (up to 33 MB) tokenizer.json once and the files run in parallel.

import { Detokenizer } from "@llm/detokenize";
import { beforeAll, describe, expect, it } from "vitest";
import { seededRandom } from "../../../bench/corpus/corpus.js";
import { Tokenizer } from "../src/index.js";
import { familyCorpus } from "./corpus.js";
import { type Family, familyDir, type OracleTokenizer, oracle } from "./families.js";

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

export function familyParitySuite(family: Family): void {
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

  describe(`${family} special-token text`, () => {
    it("becomes control tokens only when allowed; as plain text it yields no special id", () => {
      const [, literals] = corpus.find(([name]) => name === "specialLiterals") as [string, string];
      const plain = ours.encode(literals);
      expect(Array.from(plain).filter((id) => ours.isSpecial(id))).toEqual([]);
      expect(ours.decode(plain)).toBe(peer.decode(Array.from(plain), {}));
    });
  });
}
