// A runner stand-in for ring.test.ts, in its own process: creates a one-slot ring in argv[2] and rewrites
// the slot as fast as it can until killed, step i being a row whose every float is i (its stamp).
import { RingWriter } from "@llm/logits-ring";

const slotBytes = Number(process.argv[3]);
const writer = new RingWriter(process.argv[2], { slots: 1, slotBytes });
process.on("SIGTERM", () => {
  writer.close();
  process.exit(0);
});
process.stdout.write(`${JSON.stringify({ path: writer.path, nonce: writer.nonce.toString("hex") })}\n`);
const row = new Float32Array(slotBytes / 4);
const bytes = new Uint8Array(row.buffer);
for (let step = 1; ; step++) {
  row.fill(step);
  writer.writeStep([bytes]);
  if (step % 64 === 0) await new Promise(setImmediate); // lets SIGTERM in
}
