import { END_OF_TEXT_ID } from "@llm/model-pack";
import { describe, expect, it } from "vitest";
import { Detokenizer } from "../src/index.js";
import { drive, oneByOne } from "./drive.js";
import { gpt2Encode, gpt2TokenBytesSource } from "./gpt2.js";

const source = gpt2TokenBytesSource();

/** GPT-2 ids of `text` one byte per token (every byte is a GPT-2 token), to control exactly where tokens end. */
function byteTokens(text: string): number[] {
  return Array.from(new TextEncoder().encode(text), (byte) => {
    const id = source.idOfBytes(Uint8Array.of(byte));
    if (id === undefined) throw new Error(`GPT-2 has no token for byte ${byte}`);
    return id;
  });
}

/** Pushes each id alone; returns each push's text and the stop reported by the first push that stopped. */
function pushEach(detokenizer: Detokenizer, ids: readonly number[]) {
  return ids.map((id) => detokenizer.push(id));
}

describe("stop sequences", () => {
  it("matches a stop that arrives over several tokens, emitting everything before it and nothing after", () => {
    const ids = gpt2Encode("Sure, here it is.\n\nUser: and more text after");
    const stopIds = gpt2Encode("\n\nUser:");
    expect(stopIds.length).toBeGreaterThanOrEqual(3);
    const detokenizer = new Detokenizer(source, { stop: ["\n\nUser:"] });
    const steps = pushEach(detokenizer, ids);
    const stopAt = steps.findIndex((step) => step.stopped !== undefined);
    expect(steps.slice(0, stopAt).every((step) => !step.text.includes("\n"))).toBe(true);
    expect(steps.map((step) => step.text).join("")).toBe("Sure, here it is.");
    expect(steps[stopAt].stopped).toEqual({ sequence: "\n\nUser:", index: 0, offset: 17 });
    // Later tokens are ignored and the stop is reported again.
    expect(steps.slice(stopAt + 1).every((step) => step.text === "" && step.stopped?.sequence === "\n\nUser:")).toBe(
      true,
    );
    expect(detokenizer.flush()).toEqual({ text: "", stopped: { sequence: "\n\nUser:", index: 0, offset: 17 } });
  });

  it("holds back a possible stop start and releases it once the text goes another way", () => {
    const detokenizer = new Detokenizer(source, { stop: ["\n\nUser:"] });
    const texts = pushEach(detokenizer, gpt2Encode("Done.\n\nUse it")).map((step) => step.text);
    expect(texts.join("")).toBe("Done.\n\nUse it");
    const firstNewline = texts.findIndex((text) => text.includes("\n"));
    expect(texts[firstNewline]).toContain("\n\nUse ");
    expect(detokenizer.flush().stopped).toBeUndefined();
  });

  it("matches a stop made of a character split across tokens, and a stop that starts inside a grapheme", () => {
    const ids = gpt2Encode("Great job 👍 keep going");
    expect(drive(source, ids, oneByOne(ids), { stop: ["👍"] })).toMatchObject({
      text: "Great job ",
      stopped: { sequence: "👍", offset: 10 },
    });
    // The skin-tone modifier starts a stop in the middle of the astronaut's grapheme cluster.
    const astronaut = gpt2Encode("an 🧑🏽‍🚀 flies");
    expect(drive(source, astronaut, oneByOne(astronaut), { stop: ["🏽\u200d"] }).text).toBe("an 🧑");
  });

  it("matches a stop whose first byte shares a token with the text before it", () => {
    // "é" (C3 A9) arrives as two single-byte tokens, so the stop completes only on its second byte.
    const ids = byteTokens("café!");
    const detokenizer = new Detokenizer(source, { stop: ["é!"] });
    const steps = pushEach(detokenizer, ids);
    expect(steps.map((step) => step.text)).toEqual(["c", "a", "f", "", "", ""]);
    expect(steps[5].stopped).toEqual({ sequence: "é!", index: 0, offset: 3 });
  });

  it("lets the shortest stop win when several start at the same place", () => {
    const ids = gpt2Encode("Hi\nUser: hello");
    expect(drive(source, ids, oneByOne(ids), { stop: ["User:", "User"] }).stopped).toEqual({
      sequence: "User",
      index: 1,
      offset: 3,
    });
    // Identical stops: the first in the list is reported.
    expect(drive(source, ids, oneByOne(ids), { stop: ["User", "User"] }).stopped?.index).toBe(0);
  });

  it("lets the earliest-starting stop win even when a later one completes first", () => {
    const stop = ["abcd", "bc"];
    // After "xabc", "bc" is complete but "abcd" (starting earlier) could still come: only "x" is out.
    const pushXabc = () => {
      const detokenizer = new Detokenizer(source, { stop });
      const steps = pushEach(detokenizer, byteTokens("xabc"));
      expect(steps).toEqual([{ text: "x" }, { text: "" }, { text: "" }, { text: "" }]);
      return detokenizer;
    };
    expect(pushXabc().push(byteTokens("d"))).toEqual({ text: "", stopped: { sequence: "abcd", index: 0, offset: 1 } });
    expect(pushXabc().push(byteTokens("y"))).toEqual({ text: "a", stopped: { sequence: "bc", index: 1, offset: 2 } });
    // With no more text, flush settles the pending match.
    expect(pushXabc().flush()).toEqual({ text: "a", stopped: { sequence: "bc", index: 1, offset: 2 } });
  });

  it("matches a stop at the very start and a stop made of special-token text when special tokens are kept", () => {
    const ids = gpt2Encode("### rest");
    expect(drive(source, ids, oneByOne(ids), { stop: ["###"] })).toMatchObject({ text: "", stopped: { offset: 0 } });
    const withEnd = [...gpt2Encode("answer"), END_OF_TEXT_ID, ...gpt2Encode("junk")];
    expect(
      drive(source, withEnd, oneByOne(withEnd), { stop: ["<|endoftext|>"], skipSpecialTokens: false }),
    ).toMatchObject({ text: "answer", stopped: { sequence: "<|endoftext|>" } });
    expect(drive(source, withEnd, oneByOne(withEnd), { stop: ["<|endoftext|>"] }).text).toBe("answerjunk");
  });

  it("keeps a pending stop prefix until flush when the stream ends inside it", () => {
    const detokenizer = new Detokenizer(source, { stop: ["\n\nUser:"] });
    const pushed = pushEach(detokenizer, gpt2Encode("end\n\nUs"))
      .map((step) => step.text)
      .join("");
    expect(pushed).toBe("end");
    expect(detokenizer.flush()).toEqual({ text: "\n\nUs" });
  });
});
