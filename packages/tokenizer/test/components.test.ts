// The tokenizer.json parts no shipped family file exercises fully, checked on their own against the
// behaviour `tokenizers` documents: every Split behavior and invert, Metaspace schemes, Digits, Punctuation,
// Whitespace, the normalizers, BPE's unknown token and subword affixes, Bert/Roberta post-processors, the
// Metaspace decoder, and the streaming clean-up.
import { describe, expect, it } from "vitest";
import { applyDecodeRules, DecodedTextStream } from "../src/decode-rules.js";
import { Tokenizer } from "../src/index.js";
import { parseNormalizer } from "../src/normalizers.js";
import { parsePreTokenizer } from "../src/pre-tokenizers.js";
import { splitText } from "../src/split-behavior.js";

const preTokenize = (json: unknown, text: string, first = true) =>
  parsePreTokenizer(json).steps.reduce<string[]>(
    (pieces, step) => pieces.flatMap((p, i) => step(p, first && i === 0)),
    [text],
  );

describe("Split behaviors (the `tokenizers` documentation's example)", () => {
  const text = "the-final--countdown";
  it.each([
    ["Removed", ["the", "final", "countdown"]],
    ["Isolated", ["the", "-", "final", "-", "-", "countdown"]],
    ["MergedWithPrevious", ["the-", "final-", "-", "countdown"]],
    ["MergedWithNext", ["the", "-final", "-", "-countdown"]],
    ["Contiguous", ["the", "-", "final", "--", "countdown"]],
  ] as const)("%s", (behavior, expected) => {
    expect(splitText(text, /-/g, behavior, false)).toEqual(expected);
    expect(preTokenize({ type: "Split", pattern: { String: "-" }, behavior }, text)).toEqual(expected);
  });

  it("invert swaps delimiters and content: Removed + invert keeps only the matches (o200k's layout)", () => {
    expect(splitText("ab12cd345", /[0-9]+/g, "Removed", true)).toEqual(["12", "345"]);
    expect(splitText("ab12cd345", /[0-9]+/g, "MergedWithPrevious", true)).toEqual(["ab", "12cd", "345"]);
  });
});

describe("pre-tokenizers", () => {
  it("Metaspace replaces spaces, prepends per scheme and splits before each ▁", () => {
    expect(preTokenize({ type: "Metaspace", prepend_scheme: "always" }, "Hey  friend")).toEqual([
      "▁Hey",
      "▁",
      "▁friend",
    ]);
    expect(preTokenize({ type: "Metaspace", prepend_scheme: "first" }, "Hey", false)).toEqual(["Hey"]);
    expect(preTokenize({ type: "Metaspace", prepend_scheme: "never", split: false }, "a b")).toEqual(["a▁b"]);
  });

  it("Digits, Punctuation, Whitespace and WhitespaceSplit", () => {
    expect(preTokenize({ type: "Digits", individual_digits: true }, "a123b")).toEqual(["a", "1", "2", "3", "b"]);
    expect(preTokenize({ type: "Digits", individual_digits: false }, "a123b")).toEqual(["a", "123", "b"]);
    expect(preTokenize({ type: "Punctuation" }, "Hey, you!?")).toEqual(["Hey", ",", " you", "!", "?"]);
    expect(preTokenize({ type: "Whitespace" }, "Héllo, wörld!! ok")).toEqual(["Héllo", ",", "wörld", "!!", "ok"]);
    expect(preTokenize({ type: "WhitespaceSplit" }, " a\tb  c\n")).toEqual(["a", "b", "c"]);
  });
});

describe("normalizers", () => {
  const run = (json: unknown, text: string) => (parseNormalizer(json) as (t: string) => string)(text);
  it("Unicode forms, Lowercase, Strip, Prepend (not on empty text), Replace with a literal `$`", () => {
    expect(run({ type: "NFD" }, "é")).toBe("e\u0301");
    expect(run({ type: "NFKC" }, "ﬁ①")).toBe("fi1");
    expect(run({ type: "Lowercase" }, "ÀB")).toBe("àb");
    expect(run({ type: "Strip", strip_left: true, strip_right: false }, " \u3000x ")).toBe("x ");
    expect(run({ type: "Prepend", prepend: "▁" }, "")).toBe("");
    expect(run({ type: "Replace", pattern: { Regex: "\\s+" }, content: "$1" }, "a  b")).toBe("a$1b");
    expect(run({ type: "Sequence", normalizers: [] }, "same")).toBe("same");
  });
});

/** A small SentencePiece-style model: characters, a few merges, byte fallback optional. */
function toyJson(model: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    added_tokens: [{ id: 0, content: "<unk>", special: true }],
    normalizer: null,
    pre_tokenizer: { type: "WhitespaceSplit" },
    decoder: { type: "Sequence", decoders: [{ type: "Fuse" }] },
    post_processor: null,
    model: { type: "BPE", ...model },
    ...extra,
  };
}

describe("BPE variants", () => {
  it("unknown characters become <unk>, consecutive ones fused with fuse_unk", () => {
    const model = { vocab: { "<unk>": 0, a: 1, b: 2, ab: 3 }, merges: ["a b"], unk_token: "<unk>" };
    expect(Array.from(Tokenizer.fromJson(toyJson(model)).encode("abxyab"))).toEqual([3, 0, 0, 3]);
    const fused = Tokenizer.fromJson(toyJson({ ...model, fuse_unk: true }));
    expect(Array.from(fused.encode("abxyab"))).toEqual([3, 0, 3]);
  });

  it("continuing_subword_prefix and end_of_word_suffix shape the symbols and merged tokens", () => {
    const prefixed = {
      vocab: { "<unk>": 0, h: 1, "##i": 2, "##s": 3, hi: 4, "hi##s": 5 },
      merges: ["h ##i"],
      continuing_subword_prefix: "##",
      unk_token: "<unk>",
    };
    expect(Array.from(Tokenizer.fromJson(toyJson(prefixed)).encode("his"))).toEqual([4, 3]);
    const suffixed = {
      vocab: { "<unk>": 0, h: 1, "i</w>": 2, "hi</w>": 3 },
      merges: ["h i</w>"],
      end_of_word_suffix: "</w>",
    };
    expect(Array.from(Tokenizer.fromJson(toyJson(suffixed)).encode("hi hi"))).toEqual([3, 3]);
  });

  it("Roberta/Bert post-processors put cls before and sep after the text", () => {
    const model = { vocab: { "<unk>": 0, a: 1, "<s>": 2, "</s>": 3 }, merges: [], unk_token: "<unk>" };
    const json = toyJson(model, { post_processor: { type: "RobertaProcessing", cls: ["<s>", 2], sep: ["</s>", 3] } });
    expect(Array.from(Tokenizer.fromJson(json).encode("a", { addSpecialTokens: true }))).toEqual([2, 1, 3]);
  });

  it("ignore_merges takes whole pieces; the Metaspace decoder turns ▁ into spaces and drops the first one", () => {
    const model = { vocab: { "<unk>": 0, "▁hi": 1, "▁there": 2 }, merges: [], unk_token: "<unk>", ignore_merges: true };
    const json = toyJson(model, { pre_tokenizer: { type: "Metaspace" }, decoder: { type: "Metaspace" } });
    const tokenizer = Tokenizer.fromJson(json);
    expect(Array.from(tokenizer.encode("hi there"))).toEqual([1, 2]);
    expect(tokenizer.decode([1, 2])).toBe("hi there");
  });
});

describe("decode rules", () => {
  it("the streamed clean-up equals the one-shot one for every cut", () => {
    const rules = { stripStart: { char: " ", count: 1 }, cleanUpTokenizationSpaces: true };
    const text = " Hello , world . I 'm sure it 's fine , is n't it ? Yes ! ' quoted ' end .";
    const whole = applyDecodeRules(text, rules);
    expect(whole).toBe("Hello, world. I'm sure it's fine, isn't it? Yes!'quoted'end.");
    for (let cut = 0; cut <= text.length; cut++) {
      for (let cut2 = cut; cut2 <= text.length; cut2 += 7) {
        const stream = new DecodedTextStream(rules);
        const out =
          stream.write(text.slice(0, cut)) + stream.write(text.slice(cut, cut2)) + stream.write(text.slice(cut2));
        expect(out + stream.end()).toBe(whole);
      }
    }
  });
});
