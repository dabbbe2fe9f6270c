import { describe, expect, it } from "vitest";
import { announce, jsonLog } from "../src/index.js";

function captured(level?: Parameters<typeof jsonLog>[0]) {
  const lines: string[] = [];
  return { lines, log: jsonLog(level, (line) => lines.push(line)) };
}

describe("jsonLog", () => {
  it("writes one JSON line per entry with its time and fields", () => {
    const { lines, log } = captured();
    log({ level: "info", msg: "ready", model: "tiny" });
    expect(lines).toHaveLength(1);
    expect(lines[0].endsWith("\n")).toBe(true);
    expect(JSON.parse(lines[0])).toMatchObject({ level: "info", msg: "ready", model: "tiny" });
    expect(Date.parse(JSON.parse(lines[0]).time)).not.toBeNaN();
  });

  it("drops entries less severe than its level", () => {
    const { lines, log } = captured("warn");
    for (const level of ["debug", "info", "warn", "error"] as const) log({ level, msg: level });
    expect(lines.map((line) => JSON.parse(line).level)).toEqual(["warn", "error"]);
  });

  it("writes debug lines only at debug", () => {
    const atDebug = captured("debug");
    const atInfo = captured("info");
    atDebug.log({ level: "debug", msg: "x" });
    atInfo.log({ level: "debug", msg: "x" });
    expect([atDebug.lines.length, atInfo.lines.length]).toEqual([1, 0]);
  });

  it("keeps an Error's name, message and stack", () => {
    const { lines, log } = captured();
    log({ level: "error", msg: "failed", err: new TypeError("bad") });
    expect(JSON.parse(lines[0]).err).toMatchObject({ name: "TypeError", message: "bad" });
    expect(JSON.parse(lines[0]).err.stack).toContain("TypeError: bad");
  });

  it("refuses an unknown level by name", () => {
    expect(() => jsonLog("verbose" as never)).toThrow(/unknown log level "verbose"/);
  });
});

describe("announce", () => {
  it("writes the listening line a launcher reads", () => {
    const lines: string[] = [];
    announce({ event: "listening", service: "tokenizer", address: "127.0.0.1:5" }, (line) => lines.push(line));
    expect(lines).toEqual(['{"event":"listening","service":"tokenizer","address":"127.0.0.1:5"}\n']);
  });
});
