// The shared-memory ring between a runner and a co-located sampler: a reader attaches only to the runner's own
// file, and never returns a row torn by a concurrent rewrite of its slot (a separate process rewrites one slot
// flat out while this one reads it).
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { RingReader, RingWriter, WRITING } from "@llm/logits-ring";
import { afterAll, describe, expect, it } from "vitest";

const dir = mkdtempSync(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "ring-test-"));
const SLOT_BYTES = 1 << 20;
let rewriter: ChildProcess | undefined;

afterAll(() => {
  rewriter?.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
});

describe("logits ring", () => {
  it("round-trips a step's rows through a slot, slots in turn", () => {
    const writer = new RingWriter(dir, { slots: 2, slotBytes: 64 });
    const reader = RingReader.attach(writer.path, writer.nonce);
    for (let step = 1; step <= 5; step++) {
      const rows = [new Uint8Array([step, 1, 2, 3]), new Uint8Array([step, 9, 9, 9, 9, 9, 9, 9])];
      const locations = writer.writeStep(rows);
      expect(locations.map((l) => l.slot)).toEqual([(step - 1) % 2, (step - 1) % 2]);
      expect(reader.read(locations).map((bytes) => Array.from(bytes))).toEqual(rows.map((row) => Array.from(row)));
    }
    writer.close();
    reader.close();
  });

  it("refuses to attach to a file that is not the runner's (another host's or container's path)", () => {
    const writer = new RingWriter(dir, { slots: 1, slotBytes: 16 });
    expect(() => RingReader.attach(writer.path, new Uint8Array(16))).toThrow(/is not the runner's ring/);
    const other = join(dir, "other");
    writeFileSync(other, Buffer.alloc(128));
    expect(() => RingReader.attach(other, writer.nonce)).toThrow(/is not the runner's ring/);
    expect(() => RingReader.attach(join(dir, "missing"), writer.nonce)).toThrow(/ENOENT/);
    writer.close();
  });

  it("never returns a torn row while another process rewrites the slot", async () => {
    rewriter = spawn(
      process.execPath,
      ["--import", "tsx", join(import.meta.dirname, "rewriter.ts"), dir, `${SLOT_BYTES}`],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    const first = await new Promise<string>((resolve) =>
      createInterface({ input: rewriter?.stdout as NodeJS.ReadableStream }).once("line", resolve),
    );
    const { path, nonce } = JSON.parse(first) as { path: string; nonce: string };
    const reader = RingReader.attach(path, Buffer.from(nonce, "hex"));
    let whole = 0;
    let refused = 0;
    let torn = 0;
    const until = performance.now() + 3000;
    while (performance.now() < until && (whole < 200 || refused < 200)) {
      const stamp = reader.stampOf(0);
      if (stamp === WRITING) continue;
      try {
        const [bytes] = reader.read([{ slot: 0, stamp, offset: 0, length: SLOT_BYTES }]);
        const row = new Float32Array(bytes.buffer, bytes.byteOffset, SLOT_BYTES / 4);
        if (row.every((value) => value === stamp)) whole++;
        else torn++;
      } catch (err) {
        expect((err as Error).message).toMatch(/was rewritten; retry the request/);
        refused++;
      }
    }
    reader.close();
    console.log(JSON.stringify({ whole, refused, torn }));
    expect(torn).toBe(0);
    // Both outcomes happened, so reads really overlapped rewrites.
    expect(whole).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
  }, 20_000);
});
