import { END_OF_TEXT_ID } from "@llm/model-pack";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Detokenizer } from "../src/index.js";
import { drive } from "./drive.js";
import { gpt2Encode, gpt2TokenBytesSource, referenceDecode } from "./gpt2.js";

const source = gpt2TokenBytesSource();
const pieceSizes = fc.array(fc.integer({ min: 1, max: 6 }), { maxLength: 120 });
const NUM_RUNS = 300;

/** A single-byte GPT-2 token for every byte value: lets random bytes (invalid UTF-8 included) become real ids. */
const byteTokenIds = Array.from({ length: 256 }, (_, byte) => source.idOfBytes(Uint8Array.of(byte)) as number);

/** Earliest stop start wins; at the same start the shortest; then the lowest list index. Written naively on purpose. */
function referenceStop(text: string, stops: readonly string[]) {
  for (let offset = 0; offset <= text.length; offset++) {
    const candidates = stops
      .map((sequence, index) => ({ sequence, index }))
      .filter(({ sequence }) => text.startsWith(sequence, offset))
      .sort((a, b) => a.sequence.length - b.sequence.length || a.index - b.index);
    if (candidates.length > 0) return { text: text.slice(0, offset), stopped: { ...candidates[0], offset } };
  }
  return { text, stopped: undefined };
}

describe("Detokenizer properties", () => {
  it("random unicode text in real GPT-2 tokens, randomly chunked: output == full decode, no stray U+FFFD", () => {
    const text = fc.oneof(fc.string({ unit: "grapheme", maxLength: 40 }), fc.string({ unit: "binary", maxLength: 40 }));
    fc.assert(
      fc.property(text, pieceSizes, (input, pieces) => {
        const ids = gpt2Encode(input);
        const expected = referenceDecode(source, ids);
        const { deltas, text: output } = drive(source, ids, pieces);
        expect(output).toBe(expected);
        if (!expected.includes("\uFFFD")) for (const delta of deltas) expect(delta).not.toContain("\uFFFD");
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it("random ids (random bytes, invalid UTF-8 included): output == full decode, and nothing is held back needlessly", () => {
    const id = fc.oneof(
      fc.integer({ min: 0, max: source.vocabSize - 1 }),
      fc.constantFrom(...byteTokenIds),
      fc.constant(END_OF_TEXT_ID),
    );
    fc.assert(
      fc.property(fc.array(id, { maxLength: 60 }), pieceSizes, fc.boolean(), (ids, pieces, skipSpecialTokens) => {
        const detokenizer = new Detokenizer(source, { skipSpecialTokens });
        // Oracle for what is already settled after each push: TextDecoder's own stream mode.
        const oracle = new TextDecoder("utf-8", { ignoreBOM: true });
        let output = "";
        let settled = "";
        let start = 0;
        for (const size of pieces.length > 0 ? pieces : [ids.length]) {
          const piece = ids.slice(start, start + size);
          start += size;
          output += detokenizer.push(piece).text;
          const kept = piece.filter((id) => !(skipSpecialTokens && source.isSpecial(id)));
          for (const id of kept) settled += oracle.decode(source.tokenBytes(id), { stream: true });
          expect(output).toBe(settled);
        }
        output += detokenizer.push(ids.slice(start)).text + detokenizer.flush().text;
        expect(output).toBe(referenceDecode(source, ids, skipSpecialTokens));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it("stop sequences: the same cut and the same reported stop for every chunking", () => {
    const piece = fc.constantFrom("a", "b", "ab", " ", "\n", "é", "👍", "日");
    const text = fc.array(piece, { maxLength: 30 }).map((pieces) => pieces.join(""));
    const stop = fc.array(piece, { minLength: 1, maxLength: 3 }).map((pieces) => pieces.join(""));
    // Real GPT-2 tokens, or one token per byte so that every cut inside a character is tried.
    const tokenize = fc.constantFrom(gpt2Encode, (input: string) =>
      Array.from(new TextEncoder().encode(input), (byte) => byteTokenIds[byte]),
    );
    fc.assert(
      fc.property(
        text,
        fc.array(stop, { minLength: 1, maxLength: 4 }),
        tokenize,
        pieceSizes,
        (input, stops, ids, pieces) => {
          const expected = referenceStop(input, stops);
          const result = drive(source, ids(input), pieces, { stop: stops });
          expect(result.text).toBe(expected.text);
          expect(result.stopped).toEqual(expected.stopped);
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });
});
