// The streaming tool-call parser alone: for both call syntaxes, any split of the output into pieces gives the
// same calls and text as the whole, each call announced (index, id, name) before its argument fragments.
import { ToolCallSyntax } from "@llm/proto";
import { describe, expect, it } from "vitest";
import { parseToolCalls, ToolCallParser, type WholeToolCall } from "../src/tools/tool-call-parser.js";
import { callSyntax } from "../src/tools/tool-syntax.js";

const HERMES = callSyntax(ToolCallSyntax.UNSPECIFIED);
const LLAMA = callSyntax(ToolCallSyntax.LLAMA3_JSON);

const OUTPUTS: [string, typeof HERMES, string, { name: string; arguments: string }[]][] = [
  [
    "hermes, text then two calls",
    HERMES,
    'Let me look. <tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "note": "a \\"}\\" b"}}\n</tool_call>\n' +
      '<tool_call>\n{"name": "get_time", "arguments": {"zone": ["UTC", {"x": 1}]}}\n</tool_call>',
    [
      { name: "get_weather", arguments: '{"city": "Paris", "note": "a \\"}\\" b"}' },
      { name: "get_time", arguments: '{"zone": ["UTC", {"x": 1}]}' },
    ],
  ],
  [
    "llama 3 JSON, two calls",
    LLAMA,
    '{"name": "get_weather", "parameters": {"city": "Oslo"}}; {"name": "get_time", "parameters": {}}',
    [
      { name: "get_weather", arguments: '{"city": "Oslo"}' },
      { name: "get_time", arguments: "{}" },
    ],
  ],
  ["hermes, a block that is no call stays text", HERMES, "a <tool_call>oops</tool_call> b", []],
  ["llama, JSON that is no call stays text", LLAMA, 'say {"name"} and {"name": 3}', []],
];

/** Feeds `text` in pieces cut at `cuts`; returns the text and the calls rebuilt from the pieces. */
function streamed(text: string, syntax: typeof HERMES, cuts: number[]) {
  const parser = new ToolCallParser(syntax, "req-1");
  const calls: WholeToolCall[] = [];
  let content = "";
  let from = 0;
  for (const cut of [...cuts, text.length]) {
    const piece = parser.push(text.slice(from, cut));
    from = cut;
    content += piece.content;
    for (const call of piece.calls) {
      if (call.id !== "") {
        expect(call.index).toBe(calls.length);
        calls.push({ id: call.id, name: call.name, arguments: call.arguments });
      } else {
        calls[call.index].arguments += call.arguments;
      }
    }
  }
  content += parser.finish().content;
  expect(calls).toEqual(parser.calls);
  return { content, calls };
}

describe("ToolCallParser", () => {
  for (const [title, syntax, text, expected] of OUTPUTS) {
    it(`${title}: whole and in every 1-, 2- and random-cut split alike`, () => {
      const whole = parseToolCalls(text, syntax, "req-1");
      expect(whole.calls.map(({ name, arguments: a }) => ({ name, arguments: a }))).toEqual(expected);
      for (const call of whole.calls) expect(call.id).toMatch(/^call_[0-9a-f]{24}$/);
      if (expected.length === 0) expect(whole.content).toBe(text);
      const splits = [
        ...Array.from({ length: text.length }, (_, i) => [i]),
        Array.from({ length: text.length }, (_, i) => i), // one character at a time
        ...Array.from({ length: 20 }, (_, seed) =>
          Array.from({ length: 6 }, (_, k) =>
            Math.floor((((seed * 7919 + k * 104729) % 1000) / 1000) * text.length),
          ).sort((a, b) => a - b),
        ),
      ];
      for (const cuts of splits) {
        const got = streamed(text, syntax, cuts);
        expect(got.calls).toEqual(whole.calls);
        expect(got.content.trim()).toBe(whole.content);
      }
    });
  }

  it("a call cut off by the end keeps the arguments generated so far; ids follow the request id", () => {
    const parser = new ToolCallParser(HERMES, "req-2");
    const piece = parser.push('<tool_call>\n{"name": "f", "arguments": {"a": [1, 2');
    expect(piece.calls.map((c) => c.arguments)).toEqual(["", '{"a": [1, 2']);
    expect(parser.finish().content).toBe("");
    const other = new ToolCallParser(HERMES, "req-3").push('<tool_call>\n{"name": "f", "arguments": {}}');
    expect(other.calls[0].id).not.toBe(parser.calls[0].id);
    const again = new ToolCallParser(HERMES, "req-2").push('<tool_call>\n{"name": "f", "arguments": {}}');
    expect(again.calls[0].id).toBe(parser.calls[0].id);
  });
});
