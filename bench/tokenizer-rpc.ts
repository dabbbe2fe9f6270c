// gRPC Encode round trip of a 1 KiB prompt against the real tokenizer service process on loopback, with two
// baselines from the same run: the in-process encode of the same prompt (the work the service does) and a
// near-empty Encode call (one character: the fixed cost of a unary call through @llm/rpc and grpc-js).
// Rounds interleave the three so load from other jobs hits them alike.
// Run: npx tsx bench/tokenizer-rpc.ts   (prints one JSON object)
import { cpus, loadavg } from "node:os";
import { ensureModel } from "@llm/model-pack";
import { TokenizerService } from "@llm/proto";
import { createClient } from "@llm/rpc";
import { startService } from "@llm/testing";
import { Tokenizer } from "@llm/tokenizer";
import { readSamples } from "./corpus/corpus.js";

const PROMPT_BYTES = 1024;
const ROUNDS = 20;
const CALLS_PER_ROUND = 100;
const WARMUP_CALLS = 300;

/** The first 1 KiB of the English prose sample, cut at a character boundary. */
function promptOf(bytes: number): string {
  const encoded = new TextEncoder().encode(readSamples().prose);
  return new TextDecoder().decode(encoded.subarray(0, bytes)).replace(/\uFFFD$/, "");
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const round = (value: number, digits = 3) => Number(value.toPrecision(digits));
function stats(ms: number[]) {
  const sorted = [...ms].sort((a, b) => a - b);
  return {
    p50Ms: round(quantile(sorted, 0.5)),
    p99Ms: round(quantile(sorted, 0.99)),
    meanMs: round(ms.reduce((a, b) => a + b, 0) / ms.length),
  };
}

const model = await ensureModel("tiny");
const prompt = promptOf(PROMPT_BYTES);
const local = await Tokenizer.fromFile(model.dir);
const expected = Array.from(local.encode(prompt));
const service = await startService("services/tokenizer/src/main.ts", {
  name: "tokenizer",
  env: { LLM_MODEL_DIR: model.dir, LLM_MODEL_ID: "tiny", LLM_LOG_LEVEL: "warn" },
});
const client = createClient(TokenizerService, service.address);

const samples = { inProcess: [] as number[], emptyCall: [] as number[], encode1KiB: [] as number[] };
const timed = async (into: number[] | undefined, work: () => unknown) => {
  const start = performance.now();
  await work();
  into?.push(performance.now() - start);
};
const encodeRpc = (text: string) => client.encode({ model: "tiny", text });

try {
  const { tokenIds } = await encodeRpc(prompt);
  if (tokenIds.join() !== expected.join()) throw new Error("the service's ids differ from the in-process encode");
  for (let i = 0; i < WARMUP_CALLS; i++) {
    await timed(undefined, () => local.encode(prompt));
    await timed(undefined, () => encodeRpc("a"));
    await timed(undefined, () => encodeRpc(prompt));
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < CALLS_PER_ROUND; i++) await timed(samples.inProcess, () => local.encode(prompt));
    for (let i = 0; i < CALLS_PER_ROUND; i++) await timed(samples.emptyCall, () => encodeRpc("a"));
    for (let i = 0; i < CALLS_PER_ROUND; i++) await timed(samples.encode1KiB, () => encodeRpc(prompt));
  }
} finally {
  client.close();
  await service.stop();
}

const encode = stats(samples.encode1KiB);
const empty = stats(samples.emptyCall);
const inProcess = stats(samples.inProcess);
const result = {
  benchmark: "tokenizer-rpc",
  prompt: { bytes: new TextEncoder().encode(prompt).length, tokens: expected.length },
  callsEach: ROUNDS * CALLS_PER_ROUND,
  encode1KiBRpc: encode,
  emptyEncodeRpc: empty,
  inProcessEncode: inProcess,
  /** What the 1 KiB call costs over a near-empty one (payload + encode), and over the encode alone. */
  p50OverEmptyCallMs: round(encode.p50Ms - empty.p50Ms),
  p50OverInProcessMs: round(encode.p50Ms - inProcess.p50Ms),
  machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, loadavg1m: round(loadavg()[0]) },
};
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
