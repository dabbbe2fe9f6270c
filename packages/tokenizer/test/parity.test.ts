import { get_encoding, type Tiktoken } from "tiktoken";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildMixedText } from "../../../bench/corpus/corpus.js";
import { parityCorpus } from "./corpus.js";
import {
  gpt2Config,
  gpt2Json,
  gpt2Tokenizer,
  type PeerTokenizer,
  transformersTokenizer,
  writeTokenizerFolder,
} from "./gpt2.js";

const corpus = Object.entries(parityCorpus());
const tokenizer = gpt2Tokenizer();
let tiktoken: Tiktoken;
let transformers: PeerTokenizer;

beforeAll(async () => {
  tiktoken = get_encoding("gpt2");
  transformers = await transformersTokenizer(await writeTokenizerFolder(gpt2Json(), gpt2Config()));
});
afterAll(() => tiktoken.free());

describe("GPT-2 parity on the corpus", () => {
  it.each(corpus)("%s: same ids as tiktoken's encode_ordinary", (_name, text) => {
    expect(Array.from(tokenizer.encode(text))).toEqual(Array.from(tiktoken.encode_ordinary(text)));
  });

  it.each(corpus)("%s: same ids as transformers.js", (_name, text) => {
    expect(Array.from(tokenizer.encode(text))).toEqual(transformers.encode(text));
  });

  it.each(corpus)("%s: decode(encode(text)) === text", (_name, text) => {
    expect(tokenizer.decode(tokenizer.encode(text))).toBe(text);
  });

  it("agrees with tiktoken on 256 KiB of generated mixed text, cold and with a warm cache", () => {
    const text = buildMixedText(256 * 1024, 3);
    const expected = Array.from(tiktoken.encode_ordinary(text));
    const fresh = gpt2Tokenizer({ cacheSize: 100 }); // a tiny cache is emptied over and over
    expect(Array.from(fresh.encode(text))).toEqual(expected);
    expect(Array.from(fresh.encode(text))).toEqual(expected);
    expect(fresh.count(text)).toBe(expected.length);
  });

  it("treats U+0085 as white space and U+FEFF as not, as tiktoken and `tokenizers` do", () => {
    for (const text of ["a\u0085 b\u0085\u0085c", "\ufeffa \ufeff b", "x\u0085", "\ufeff"]) {
      expect(Array.from(tokenizer.encode(text))).toEqual(Array.from(tiktoken.encode_ordinary(text)));
    }
  });

  it("encodeBytes gives the ids of the decoded text and keeps a leading byte-order mark", () => {
    const text = "\ufeffBOM first, then ünïcödé 🎉";
    expect(Array.from(tokenizer.encodeBytes(new TextEncoder().encode(text)))).toEqual(
      Array.from(tiktoken.encode_ordinary(text)),
    );
  });
});

describe("decoding", () => {
  it("decodeBytes returns each token's raw bytes, even a cut multi-byte character", () => {
    const ids = tokenizer.encode("🎉"); // 4 bytes, several byte-level tokens
    expect(ids.length).toBeGreaterThan(1);
    const parts = Array.from(ids, (id) => Array.from(tokenizer.tokenBytes(id))).flat();
    expect(parts).toEqual(Array.from(Buffer.from("🎉")));
    expect(Array.from(tokenizer.decodeBytes(ids))).toEqual(parts);
    expect(tokenizer.decode(ids.subarray(0, 1))).toBe("\ufffd"); // incomplete UTF-8 shows as U+FFFD
  });

  it("decodes every vocabulary id to tiktoken's bytes", () => {
    for (let id = 0; id < tokenizer.vocabSize; id++) {
      const ours = tokenizer.tokenBytes(id);
      const theirs = tiktoken.decode_single_token_bytes(id);
      if (Buffer.compare(Buffer.from(ours), Buffer.from(theirs)) !== 0) {
        throw new Error(`token ${id}: ${Buffer.from(ours).toString("hex")} vs ${Buffer.from(theirs).toString("hex")}`);
      }
    }
    expect(tokenizer.vocabSize).toBe(50257);
  });
});
