// The cost of moving one step of logits through the shared-memory ring with positioned I/O (what
// @llm/logits-ring does: pwritev by the runner, pread by the sampler, on a tmpfs file) against an in-memory
// copy of the same bytes, which is what a memory mapping would cost the writer (the reader of a mapping copies
// nothing). So `pwrite + pread` vs `memcpy` bounds what an mmap binding could save per step.
// Run: npx tsx bench/ring-io.ts   (prints one JSON object)
import { existsSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { RingReader, RingWriter } from "@llm/logits-ring";

const SHAPES = [
  { batch: 32, vocab: 50257 },
  { batch: 64, vocab: 50257 },
  { batch: 32, vocab: 131072 },
  { batch: 64, vocab: 131072 },
];
const REPEATS = 25;
const dir = existsSync("/dev/shm") ? "/dev/shm" : tmpdir();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (value: number, digits = 3) => Number(value.toPrecision(digits));
const time = (work: () => void) => {
  const ms: number[] = [];
  for (let i = 0; i < REPEATS + 2; i++) {
    const start = performance.now();
    work();
    if (i >= 2) ms.push(performance.now() - start);
  }
  return median(ms);
};

const rows = [];
for (const { batch, vocab } of SHAPES) {
  const bytes = batch * vocab * 4;
  const step = new Float32Array(batch * vocab).map((_, i) => (i % 977) / 100);
  const stepRows = Array.from({ length: batch }, (_, r) => new Uint8Array(step.buffer, r * vocab * 4, vocab * 4));
  const writer = new RingWriter(dir, { slots: 2, slotBytes: bytes });
  const reader = RingReader.attach(writer.path, writer.nonce);
  writer.unlink();
  let locations = writer.writeStep(stepRows);
  const pwriteMs = time(() => {
    locations = writer.writeStep(stepRows);
  });
  const preadMs = time(() => reader.read(locations));
  const target = new Float32Array(batch * vocab);
  const memcpyMs = time(() => target.set(step));
  writer.close();
  reader.close();
  rows.push({
    batch,
    vocab,
    megabytes: round(bytes / 1e6),
    pwriteMs: round(pwriteMs),
    preadMs: round(preadMs),
    ringMs: round(pwriteMs + preadMs),
    memcpyMs: round(memcpyMs),
    ringVsMemcpy: round((pwriteMs + preadMs) / memcpyMs),
    gigabytesPerSecond: round(bytes / 1e6 / (pwriteMs + preadMs)),
  });
}
process.stdout.write(
  `${JSON.stringify({ benchmark: "ring-io", dir, repeats: REPEATS, machine: { cpus: cpus().length, loadavg1m: round(loadavg()[0]) }, rows }, null, 2)}\n`,
);
