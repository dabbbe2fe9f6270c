// Other byte-level layouts: files on disk, a Llama-3/Qwen-style Split + ByteLevel(use_regex false)
// Sequence, add_prefix_space, ignore_merges and NFC; checked against transformers.js where it applies.
import { describe, expect, it } from "vitest";
import { Tokenizer } from "../src/index.js";
import { parityCorpus } from "./corpus.js";
import { gpt2Config, gpt2Json, gpt2Tokenizer, transformersTokenizer, writeTokenizerFolder } from "./gpt2.js";

const GPT2_REGEX = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
const LLAMA3_REGEX =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

function splitThenByteLevel(pattern: string): Record<string, unknown> {
  return {
    ...gpt2Json(),
    pre_tokenizer: {
      type: "Sequence",
      pretokenizers: [
        { type: "Split", pattern: { Regex: pattern }, behavior: "Isolated", invert: false },
        { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
  };
}

const texts = Object.entries(parityCorpus()).filter(([name]) => name !== "empty");
const gpt2 = gpt2Tokenizer();

describe("loading from files", () => {
  it("loads a model folder or a tokenizer.json path, with tokenizer_config.json beside it", async () => {
    const folder = await writeTokenizerFolder(gpt2Json(), { ...gpt2Config(), chat_template: "{{ eos_token }}" });
    for (const path of [folder, `${folder}/tokenizer.json`]) {
      const loaded = await Tokenizer.fromFile(path);
      expect(loaded.eosTokenId).toBe(50256);
      expect(loaded.applyChatTemplate([])).toBe("<|endoftext|>");
      expect(Array.from(loaded.encode("same ids"))).toEqual(Array.from(gpt2.encode("same ids")));
    }
  });
});

describe("Sequence [Split(regex), ByteLevel(use_regex: false)]", () => {
  it("with GPT-2's regex, equals the plain ByteLevel pre-tokenizer", () => {
    const sequence = Tokenizer.fromJson(splitThenByteLevel(GPT2_REGEX));
    for (const [, text] of texts) expect(Array.from(sequence.encode(text))).toEqual(Array.from(gpt2.encode(text)));
  });

  it("with Llama-3's regex, matches transformers.js on the corpus", async () => {
    const json = splitThenByteLevel(LLAMA3_REGEX);
    const peer = await transformersTokenizer(await writeTokenizerFolder(json, gpt2Config(), "llama3-style"));
    const ours = Tokenizer.fromJson(json);
    for (const [name, text] of texts) {
      expect(Array.from(ours.encode(text)), name).toEqual(peer.encode(text));
      expect(ours.decode(ours.encode(text)), name).toBe(text);
    }
    const digitGroups = ["123", "456", "7"].flatMap((group) => Array.from(gpt2.encode(group)));
    expect(Array.from(ours.encode("1234567"))).toEqual(digitGroups); // \p{N}{1,3}: digits in threes
  });
});

describe("ByteLevel options", () => {
  it("add_prefix_space prepends a space to each span without one, as transformers.js does", async () => {
    const json = gpt2Json();
    Object.assign(json.pre_tokenizer as object, { add_prefix_space: true });
    const peer = await transformersTokenizer(await writeTokenizerFolder(json, gpt2Config(), "prefix-space"));
    const ours = Tokenizer.fromJson(json);
    expect(Array.from(ours.encode("Hello"))).toEqual(Array.from(gpt2.encode(" Hello")));
    expect(Array.from(ours.encode(" Hello"))).toEqual(Array.from(gpt2.encode(" Hello")));
    for (const [name, text] of texts) expect(Array.from(ours.encode(text)), name).toEqual(peer.encode(text));
  });

  it("ignore_merges maps a pre-token found in the vocabulary straight to its id", () => {
    // Make "Ġhello" unreachable by merges, so only ignore_merges can produce it.
    const json = gpt2Json();
    const model = json.model as { merges: string[]; vocab: Record<string, number>; ignore_merges?: boolean };
    const helloId = model.vocab["\u0120hello"]; // "Ġhello": " hello" in byte-level spelling
    model.merges = model.merges.filter((merge) => merge.replace(" ", "") !== "Ġhello");
    const withoutShortcut = Tokenizer.fromJson(json);
    model.ignore_merges = true;
    const withShortcut = Tokenizer.fromJson(json);
    expect(Array.from(withoutShortcut.encode(" hello"))).not.toEqual([helloId]);
    expect(Array.from(withShortcut.encode(" hello"))).toEqual([helloId]);
  });

  it("an NFC normalizer composes the input first", () => {
    const nfc = Tokenizer.fromJson({ ...gpt2Json(), normalizer: { type: "NFC" } });
    expect(Array.from(nfc.encode("cafe\u0301"))).toEqual(Array.from(gpt2.encode("caf\u00e9")));
  });
});
