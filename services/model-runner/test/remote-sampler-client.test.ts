// RemoteSampler against a real sampler process that stops answering (SIGSTOP): the step fails with
// UNAVAILABLE after the step timeout instead of stalling the engine, and the next step uses a new stream.
import { isLlmError } from "@llm/errors";
import { create, SamplingParamsSchema } from "@llm/proto";
import { type RunningService, startService } from "@llm/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RemoteSampler } from "../src/remote-sampler.js";
import { SAMPLER } from "./helpers.js";

const VOCAB = 100;
const GREEDY = create(SamplingParamsSchema, { temperature: 0 });
const quiet = () => {};

let sampler: RunningService;
let remote: RemoteSampler;

beforeAll(async () => {
  sampler = await startService(SAMPLER, { name: "sampler" });
  remote = new RemoteSampler(sampler.address, quiet, 300);
});

afterAll(async () => {
  remote?.shutdown();
  sampler?.process.kill("SIGCONT");
  expect((await sampler?.stop())?.code).toBe(0);
});

function peakAt(id: number): Float32Array {
  const logits = new Float32Array(VOCAB);
  logits[id] = 5;
  return logits;
}

describe("RemoteSampler", () => {
  it("fails a step with UNAVAILABLE when the sampler stops answering, then recovers on a new stream", async () => {
    remote.open("a", GREEDY, [1]);
    remote.open("b", GREEDY, [2]);
    expect(
      await remote.sample([
        { seqId: "a", logits: peakAt(7) },
        { seqId: "b", logits: peakAt(9) },
      ]),
    ).toEqual([expect.objectContaining({ tokenId: 7 }), expect.objectContaining({ tokenId: 9 })]);

    sampler.process.kill("SIGSTOP");
    const started = performance.now();
    const stalled = await remote.sample([{ seqId: "a", logits: peakAt(3) }]);
    expect(performance.now() - started).toBeLessThan(2000);
    const [failure] = stalled;
    expect("error" in failure && isLlmError(failure.error) && failure.error.code).toBe("unavailable");
    expect("error" in failure && failure.error.message).toMatch(
      /failed during a step \(no answer within 300 ms\); retry the request/,
    );

    sampler.process.kill("SIGCONT");
    remote.open("c", GREEDY, [3]);
    const [lost, fresh] = await remote.sample([
      { seqId: "b", logits: peakAt(4) },
      { seqId: "c", logits: peakAt(11) },
    ]);
    expect("error" in lost && lost.error.message).toMatch(/lost this request's sampling state/);
    expect(fresh).toEqual(expect.objectContaining({ tokenId: 11 }));
  });
});
