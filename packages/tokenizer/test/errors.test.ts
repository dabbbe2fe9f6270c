import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LlmError } from "@llm/errors";
import { describe, expect, it } from "vitest";
import { Tokenizer } from "../src/index.js";
import { gpt2Config, gpt2Json, gpt2Tokenizer } from "./gpt2.js";

const tokenizer = gpt2Tokenizer({ maxInputBytes: 1000 });

function thrown(run: () => unknown): LlmError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(LlmError);
    return err as LlmError;
  }
  throw new Error("expected an LlmError");
}

describe("input errors", () => {
  it("rejects invalid UTF-8 bytes with the offset of the bad sequence", () => {
    const cases: [number[], number][] = [
      [[0x61, 0x62, 0xff, 0x63], 2], // never valid
      [[0x61, 0xc3], 1], // truncated 2-byte sequence
      [[0x61, 0x62, 0x63, 0xe2, 0x82, 0x41], 3], // bad continuation
      [[0xc0, 0xaf], 0], // overlong "/"
      [[0x41, 0xed, 0xa0, 0x80], 1], // encoded surrogate
      [[0xf4, 0x90, 0x80, 0x80], 0], // above U+10FFFF
    ];
    for (const [bytes, offset] of cases) {
      const err = thrown(() => tokenizer.encodeBytes(Uint8Array.from(bytes)));
      expect(err.code).toBe("invalid_argument");
      expect(err.message).toContain(`byte offset ${offset}`);
      expect(err.details).toEqual({ byteOffset: offset });
    }
  });

  it("rejects lone surrogates in strings with their index", () => {
    for (const [text, index] of [
      ["ab\ud800", 2],
      ["\udc00x", 0],
      ["ok 😀 \ud83d!", 6],
    ] as const) {
      const err = thrown(() => tokenizer.encode(text));
      expect(err.code).toBe("invalid_argument");
      expect(err.message).toContain(`at index ${index}`);
    }
  });

  it("rejects input over the size limit with resource_exhausted naming the limit", () => {
    expect(tokenizer.encode("é".repeat(500))).toHaveLength(500); // exactly 1000 bytes is fine
    for (const run of [
      () => tokenizer.encode("é".repeat(501)),
      () => tokenizer.encode("x".repeat(1001)),
      () => tokenizer.encodeBytes(new Uint8Array(1001).fill(0x61)),
      () => tokenizer.count("😀".repeat(251)),
    ]) {
      const err = thrown(run);
      expect(err.code).toBe("resource_exhausted");
      expect(err.message).toContain("at most 1000 bytes");
    }
  });

  it("rejects unknown token ids naming the id and the vocabulary size", () => {
    for (const id of [50257, -1, 1.5, Number.NaN]) {
      const err = thrown(() => tokenizer.decode([15496, id]));
      expect(err.code).toBe("invalid_argument");
      expect(err.message).toContain(`unknown token id ${id}`);
      expect(err.message).toContain("vocabulary size 50257");
    }
    expect(thrown(() => tokenizer.tokenBytes(99999)).code).toBe("invalid_argument");
    expect(thrown(() => tokenizer.decodeBytes([70000])).message).toContain("70000");
  });

  it("rejects a non-string text and a bad size limit", () => {
    expect(thrown(() => tokenizer.encode(42 as unknown as string)).code).toBe("invalid_argument");
    expect(thrown(() => gpt2Tokenizer({ maxInputBytes: 0 })).message).toContain("maxInputBytes");
  });
});

describe("loading errors", () => {
  // Each refusal names the JSON path of the part that is not implemented.
  const cases: [string, (json: Record<string, unknown>) => void, string][] = [
    [
      "a WordPiece model without an unknown token",
      (j) => Object.assign(j.model as object, { type: "WordPiece" }),
      "model.unk_token: WordPiece needs an unknown token",
    ],
    ["BPE dropout", (j) => Object.assign(j.model as object, { dropout: 0.1 }), "model.dropout"],
    [
      "a Metaspace pre-tokenizer with an unknown scheme",
      (j) => Object.assign(j, { pre_tokenizer: { type: "Metaspace", prepend_scheme: "sometimes" } }),
      'pre_tokenizer.prepend_scheme: unknown scheme "sometimes"',
    ],
    [
      "a BertNormalizer with a flag that is not a boolean",
      (j) =>
        Object.assign(j, {
          normalizer: {
            type: "Sequence",
            normalizers: [{ type: "NFC" }, { type: "BertNormalizer", lowercase: "yes" }],
          },
        }),
      'normalizer.normalizers[1].lowercase: expected true or false, got "yes"',
    ],
    ["a WordPiece decoder", (j) => Object.assign(j, { decoder: { type: "WordPiece" } }), "decoder: decoder WordPiece"],
    [
      "a Strip decoder that strips the end",
      (j) =>
        Object.assign(j, {
          pre_tokenizer: null,
          decoder: {
            type: "Sequence",
            decoders: [{ type: "Fuse" }, { type: "Strip", content: " ", start: 1, stop: 1 }],
          },
        }),
      "decoder.decoders[1].stop",
    ],
    [
      "a Split with an unknown behavior",
      (j) =>
        Object.assign(j, {
          pre_tokenizer: {
            type: "Sequence",
            pretokenizers: [{ type: "Split", pattern: { Regex: "a" }, behavior: "Sideways" }, { type: "ByteLevel" }],
          },
        }),
      'pre_tokenizer.pretokenizers[0].behavior: Split behavior "Sideways"',
    ],
    [
      "ByteLevel before another pre-tokenizer",
      (j) =>
        Object.assign(j, {
          pre_tokenizer: { type: "Sequence", pretokenizers: [{ type: "ByteLevel" }, { type: "Digits" }] },
        }),
      "pre_tokenizer.pretokenizers[0]: ByteLevel is supported only as the last",
    ],
    [
      "an unknown post-processor",
      (j) => Object.assign(j, { post_processor: { type: "Whisper" } }),
      "post_processor: post-processor Whisper",
    ],
    [
      "an unknown top-level key",
      (j) => Object.assign(j, { truncate_left: true }),
      "truncate_left: unknown top-level key",
    ],
    ["a malformed merge", (j) => Object.assign(j.model as object, { merges: ["Ġt"] }), 'merge #0 "Ġt"'],
    ["a merge of unknown tokens", (j) => Object.assign(j.model as object, { merges: ["zz qq"] }), "merge #0"],
    [
      "a vocabulary without byte tokens",
      (j) => Object.assign(j.model as object, { vocab: { a: 0 }, merges: [] }),
      "no token for byte 0x00",
    ],
  ];

  it.each(cases)("rejects %s with a message naming it", (_name, edit, expected) => {
    const json = gpt2Json();
    edit(json);
    const err = thrown(() => Tokenizer.fromJson(json));
    expect(err.code).toBe("failed_precondition");
    expect(err.message).toContain(expected);
  });

  it("reports a missing folder as not_found and broken JSON as failed_precondition", async () => {
    await expect(Tokenizer.fromFile("/nonexistent/model")).rejects.toMatchObject({ code: "not_found" });
    const dir = await mkdtemp(join(tmpdir(), "llm-tokenizer-"));
    await expect(Tokenizer.fromFile(dir)).rejects.toMatchObject({ code: "not_found" });
    await writeFile(join(dir, "tokenizer.json"), "{ not json");
    await expect(Tokenizer.fromFile(dir)).rejects.toMatchObject({
      code: "failed_precondition",
      message: expect.stringContaining("tokenizer.json is not valid JSON"),
    });
  });

  it("accepts merges written as [left, right] pairs", () => {
    const json = gpt2Json();
    const model = json.model as { merges: string[] };
    const pairs = model.merges.map((merge) => merge.split(" "));
    const fromPairs = Tokenizer.fromJson({ ...json, model: { ...model, merges: pairs } }, gpt2Config());
    const text = "Merges as pairs give the same ids.";
    expect(Array.from(fromPairs.encode(text))).toEqual(Array.from(gpt2Tokenizer().encode(text)));
  });
});
