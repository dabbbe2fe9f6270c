// Every way logits reach a real sampler process (RemoteSampler, the runner's client, in this process):
// network full rows, network pruned rows, and the shared-memory ring, must give the in-process library's tokens
// and logprobs exactly: greedy and seeded, fp32 and fp16 rows, sequences joining and leaving the batch at
// every step, tied logits every other step. A sampler killed mid-step fails only that step, on the ring too.
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type EngineSampler, inProcessSampler, type SampleInput, type SampleResult } from "@llm/engine";
import { isLlmError } from "@llm/errors";
import type { Log } from "@llm/log";
import { create, type SamplingParams, SamplingParamsSchema } from "@llm/proto";
import { Sampler as Library, widenHalf } from "@llm/sampling";
import { type RunningService, startService } from "@llm/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RemoteSampler, type SamplerTransport } from "../src/remote-sampler.js";
import { SAMPLER } from "./helpers.js";

const VOCAB = 4096;
const SEQUENCES = 64;
const STEPS = 160;
const MAX_BATCH = 32;
const ringDir = mkdtempSync(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "transports-"));
const PARAMS: SamplingParams[] = [
  { temperature: 0 },
  { temperature: 0.8, topP: 0.9 },
  { temperature: 1.1, topK: 40, logprobs: true, topLogprobs: 3 },
  { temperature: 1, minP: 0.1 },
  { temperature: 0.9, topP: 0.95, repetitionPenalty: 1.2 }, // penalties: always full rows
  { strategy: "greedy", topLogprobs: 2 },
].map((init) => create(SamplingParamsSchema, init));

let sampler: RunningService;
type LogEntry = Parameters<Log>[0];
const logs: LogEntry[] = [];

beforeAll(async () => {
  sampler = await startService(SAMPLER, { name: "sampler" });
});

afterAll(async () => {
  rmSync(ringDir, { recursive: true, force: true });
  expect((await sampler?.stop())?.code).toBe(0);
});

/** Deterministic logits of (sequence, step): LM-like normals, rounded to quarters every other step (ties). */
function rowOf(sequence: number, step: number): SampleInput & { seqId: string } {
  let state = (sequence * 7919 + step * 104729 + 1) >>> 0;
  const uniform = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state + 0.5) / 4294967296;
  };
  const logits = new Float32Array(VOCAB);
  for (let i = 0; i < VOCAB; i++) {
    const value = 2.5 * Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
    logits[i] = step % 2 === 1 ? Math.round(value * 4) / 4 : value;
  }
  if (sequence % 3 !== 0) return { seqId: `s${sequence}`, logits };
  // A third of the sequences come from an "fp16 model": the row is its fp16 values and their exact widening.
  const bits = Uint16Array.from(logits, (value) => float16Bits(value));
  return {
    seqId: `s${sequence}`,
    logits: widenHalf(bits, "float16", new Float32Array(VOCAB)),
    half: { dtype: "float16", bits },
  };
}

/** Round-to-nearest fp16 bits of a small normal value (|v| < 65504, not subnormal-sensitive at these scales). */
function float16Bits(value: number): number {
  const sign = value < 0 ? 0x8000 : 0;
  const magnitude = Math.abs(value);
  if (magnitude < 2 ** -14) return sign;
  const exponent = Math.floor(Math.log2(magnitude));
  const fraction = Math.round((magnitude / 2 ** exponent - 1) * 1024);
  return fraction === 1024 ? sign | ((exponent + 16) << 10) : sign | ((exponent + 15) << 10) | fraction;
}

/** Sequence i's params, each with its own seed. */
const paramsOf = (i: number) => ({ ...PARAMS[i % PARAMS.length], seed: BigInt(1000 + i) });

/** Sequence i runs from step start(i) for length(i) steps; the batch order rotates each step. */
const start = (i: number) => (i * 37) % (STEPS - 40);
const length = (i: number) => 20 + ((i * 53) % 100);

/** A result as the wire can carry it: logprobs are proto floats (float32), absent ones 0 / []. */
function onWire(result: SampleResult): unknown {
  if ("error" in result) return { error: result.error.message };
  const topLogprobs = (result.topLogprobs ?? []).map(({ tokenId, logprob }) => ({
    tokenId,
    logprob: Math.fround(logprob),
  }));
  return { tokenId: result.tokenId, logprob: Math.fround(result.logprob ?? 0), topLogprobs };
}

/** Tokens (with logprobs) of every sequence, driving `target` step by step like the engine does. */
async function run(target: EngineSampler<SamplingParams>): Promise<Map<string, unknown[]>> {
  const out = new Map<string, unknown[]>();
  for (let step = 0; step < STEPS; step++) {
    for (let i = 0; i < SEQUENCES; i++) {
      if (start(i) === step) await target.open(`s${i}`, paramsOf(i), [i, i + 1], []);
    }
    const active = Array.from({ length: SEQUENCES }, (_, i) => i).filter(
      (i) => step >= start(i) && step < start(i) + length(i),
    );
    const batch = active.map((_, k) => active[(k + step) % active.length]).slice(0, MAX_BATCH);
    const results = await target.sample(batch.map((i) => rowOf(i, step - start(i))));
    batch.forEach((i, k) => {
      const list = out.get(`s${i}`) ?? [];
      list.push(onWire(results[k]));
      out.set(`s${i}`, list);
    });
    for (let i = 0; i < SEQUENCES; i++) {
      if (start(i) + length(i) === step + 1) target.close(`s${i}`);
    }
  }
  return out;
}

/**
 * Speculative verify steps: each sequence sends k = 0..3 proposals (each row's most likely token, so many are
 * accepted; every third the next id instead) with k + 1 rows; everything drawn (accepted proposals, then the
 * token after them) is recorded, and the next step's rows continue from there.
 */
async function runVerifying(target: EngineSampler<SamplingParams>): Promise<Map<string, unknown[]>> {
  const out = new Map<string, unknown[]>();
  const produced = new Array<number>(16).fill(0);
  for (let i = 0; i < produced.length; i++) await target.open(`v${i}`, paramsOf(i), [i], []);
  for (let step = 0; step < 40; step++) {
    const inputs = produced.map((at, i) => {
      const k = (i + step) % 4;
      const rows = Array.from({ length: k + 1 }, (_, j) => rowOf(i, at + j).logits);
      const logits = new Float32Array(VOCAB * (k + 1));
      rows.forEach((row, j) => {
        logits.set(row, j * VOCAB);
      });
      const proposed = rows.slice(0, k).map((row, j) => (j % 3 === 2 ? (argmaxOf(row) + 1) % VOCAB : argmaxOf(row)));
      return { seqId: `v${i}`, logits, proposed };
    });
    const results = await target.sample(inputs);
    results.forEach((result, i) => {
      const drawn = "error" in result ? [result] : [...(result.accepted ?? []), result];
      out.set(`v${i}`, [...(out.get(`v${i}`) ?? []), ...drawn.map(onWire)]);
      produced[i] += drawn.length;
    });
  }
  for (let i = 0; i < produced.length; i++) target.close(`v${i}`);
  return out;
}

function argmaxOf(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

const TRANSPORTS: Record<string, SamplerTransport> = {
  "network, full rows": { prune: false },
  "network, pruned rows": { prune: true },
  "shared-memory ring": { ringDir, ringSlotBytes: MAX_BATCH * VOCAB * 4 },
};

describe("sampler transports (real sampler process)", () => {
  let reference: Map<string, unknown[]>;

  beforeAll(async () => {
    reference = await run(inProcessSampler(new Library({ vocabSize: VOCAB })));
  });

  for (const [name, transport] of Object.entries(TRANSPORTS)) {
    it(`${name}: the in-process tokens and logprobs for ${SEQUENCES} sequences joining and leaving`, async () => {
      const remote = new RemoteSampler(sampler.address, (entry) => logs.push(entry), undefined, undefined, transport);
      try {
        const tokens = await run(remote);
        for (const [seqId, expected] of reference) expect(tokens.get(seqId), seqId).toEqual(expected);
      } finally {
        remote.shutdown();
      }
      const attached = logs.some((entry) => entry.msg === "sampler reads logits from shared memory");
      expect(attached).toBe(transport.ringDir !== undefined);
    }, 120_000);
  }

  for (const [name, transport] of Object.entries(TRANSPORTS)) {
    it(`${name}: speculative verification (proposals in, the accepted run out) == in-process`, async () => {
      const expected = await runVerifying(inProcessSampler(new Library({ vocabSize: VOCAB })));
      const accepted = [...expected.values()].flat().length - 16 * 40;
      expect(accepted).toBeGreaterThan(100); // many proposals accepted, many rejected
      const remote = new RemoteSampler(sampler.address, (entry) => logs.push(entry), undefined, undefined, transport);
      try {
        expect(await runVerifying(remote)).toEqual(expected);
      } finally {
        remote.shutdown();
      }
    }, 60_000);
  }

  it("leaves no ring file behind", () => {
    expect(readdirSync(ringDir)).toEqual([]);
  });

  it("falls back to messages, saying why, when the sampler cannot open the ring", async () => {
    const log: LogEntry[] = [];
    const remote = new RemoteSampler(sampler.address, (entry) => log.push(entry), undefined, undefined, {
      ringDir: join(ringDir, "missing"),
      ringSlotBytes: 1024,
    });
    remote.open("x", paramsOf(1), [1, 2]);
    const [result] = await remote.sample([{ seqId: "x", logits: rowOf(1, 0).logits }]);
    remote.shutdown();
    expect(onWire(result)).toEqual(reference.get("s1")?.[0]);
    expect(log).toContainEqual(
      expect.objectContaining({
        msg: "sampler logits go over the network",
        reason: expect.stringMatching(/cannot create a ring file.*ENOENT/),
      }),
    );
  });

  it("a sampler killed mid-step fails that step's sequences with UNAVAILABLE; the next step, on a restarted sampler, reads the ring again", async () => {
    const log: LogEntry[] = [];
    const remote = new RemoteSampler(
      sampler.address,
      (entry) => log.push(entry),
      undefined,
      undefined,
      TRANSPORTS["shared-memory ring"],
    );
    const rows = Array.from({ length: MAX_BATCH }, (_, i) => rowOf(i, 0));
    for (const [i, row] of rows.entries()) remote.open(row.seqId, paramsOf(i), [i]);
    await remote.sample(rows); // attaches the ring
    const doomed = remote.sample(rows.map((_, i) => rowOf(i, 1)));
    sampler.process.kill("SIGKILL");
    const failed = await doomed;
    expect(
      failed.every((result) => "error" in result && isLlmError(result.error) && result.error.code === "unavailable"),
    ).toBe(true);
    await sampler.stop();
    const port = sampler.address.split(":").at(-1) as string;
    sampler = await startService(SAMPLER, { name: "sampler (restarted)", env: { LLM_PORT: port } });
    remote.open("next", paramsOf(1), [1, 2]);
    const [next] = await remote.sample([{ seqId: "next", logits: rowOf(1, 0).logits }]);
    remote.shutdown();
    expect(onWire(next)).toEqual(reference.get("s1")?.[0]);
    expect(log.filter((entry) => entry.msg === "sampler reads logits from shared memory")).toHaveLength(2);
  }, 60_000);
});
