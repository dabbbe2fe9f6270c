import { LlmError } from "@llm/errors";
import { describe, expect, it } from "vitest";
import { Detokenizer } from "../src/index.js";
import { gpt2Encode, gpt2TokenBytesSource } from "./gpt2.js";

const source = gpt2TokenBytesSource();

function errorOf(action: () => unknown): LlmError {
  try {
    action();
  } catch (error) {
    if (error instanceof LlmError) return error;
    throw error;
  }
  throw new Error("expected an LlmError, nothing was thrown");
}

describe("Detokenizer validation", () => {
  it("rejects bad stop sequences with invalid_argument naming the problem", () => {
    const cases: [string[], RegExp][] = [
      [["a", "b", "c"], /too many stop sequences: 3 given, at most 2/],
      [["ok", ""], /stop sequence 1 is empty/],
      [["x".repeat(9)], /stop sequence 0 is 9 characters long; at most 8/],
      [["\ud83d"], /stop sequence 0 contains a lone UTF-16 surrogate/],
    ];
    for (const [stop, message] of cases) {
      const error = errorOf(() => new Detokenizer(source, { stop, maxStopSequences: 2, maxStopLength: 8 }));
      expect(error.code).toBe("invalid_argument");
      expect(error.message).toMatch(message);
    }
    expect(() => new Detokenizer(source, { stop: ["👍", "\n\nUser:"], maxStopLength: 8 })).not.toThrow();
  });

  it("applies default limits of 16 stop sequences of at most 256 characters", () => {
    expect(errorOf(() => new Detokenizer(source, { stop: Array(17).fill("x") })).message).toMatch(/17 given/);
    expect(errorOf(() => new Detokenizer(source, { stop: ["y".repeat(257)] })).message).toMatch(/257 characters/);
    expect(() => new Detokenizer(source, { stop: Array(16).fill("z".repeat(256)) })).not.toThrow();
  });

  it("rejects an out-of-range token id, naming it, without consuming the rest of the push", () => {
    const detokenizer = new Detokenizer(source);
    const [hello] = gpt2Encode("Hello");
    for (const bad of [50257, -1, 1.5, Number.NaN]) {
      const error = errorOf(() => detokenizer.push([hello, bad]));
      expect(error.code).toBe("invalid_argument");
      expect(error.message).toContain(`token id ${bad} is out of range`);
      expect(error.message).toContain("0..50256");
    }
    expect(detokenizer.push(hello).text + detokenizer.flush().text).toBe("Hello");
  });

  it("refuses push and flush after flush with failed_precondition", () => {
    const detokenizer = new Detokenizer(source);
    detokenizer.flush();
    expect(errorOf(() => detokenizer.push(1)).code).toBe("failed_precondition");
    expect(errorOf(() => detokenizer.flush()).message).toMatch(/flush\(\) called after flush\(\)/);
  });
});
