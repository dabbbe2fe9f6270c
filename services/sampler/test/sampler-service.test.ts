// The sampler service as a real process (with the example plugin) against the in-process library.
import {
  type MessageInitShape,
  type SampleRequestSchema,
  type SampleResponse,
  SamplerService,
  type SamplingParamsSchema,
} from "@llm/proto";
import { type BidiCall, createClient, type ServiceClient } from "@llm/rpc";
import { createStrategyRegistry, Sampler } from "@llm/sampling";
import { type RunningService, startService } from "@llm/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { register } from "../plugins/typical.js";

type SampleRequestInit = MessageInitShape<typeof SampleRequestSchema>;

const VOCAB = 1000;
let sampler: RunningService;
let client: ServiceClient<typeof SamplerService>;

beforeAll(async () => {
  sampler = await startService("services/sampler/src/main.ts", {
    name: "sampler",
    env: { LLM_SAMPLER_PLUGINS: "services/sampler/plugins/typical.ts" },
  });
  client = createClient(SamplerService, sampler.address);
});

afterAll(async () => {
  client?.close();
  expect((await sampler?.stop())?.code).toBe(0);
});

function logitsOf(step: number, row: number): Float32Array {
  return Float32Array.from({ length: VOCAB }, (_, i) => Math.sin(i * 0.37 + step * 1.7 + row * 2.9) * 5);
}

const bytes = (logits: Float32Array) => new Uint8Array(logits.buffer, logits.byteOffset, logits.byteLength);

/** One exchange on an open stream: send a step, read its response. */
async function exchange(
  call: BidiCall<SampleRequestInit, SampleResponse>,
  responses: AsyncIterator<SampleResponse>,
  request: SampleRequestInit,
): Promise<SampleResponse> {
  call.send(request);
  const next = await responses.next();
  if (next.done) throw new Error("stream ended");
  return next.value;
}

describe("sampler service (real process)", () => {
  it("lists the built-in strategies and the plugin's", async () => {
    const { strategies } = await client.listStrategies({});
    expect(strategies.map((s) => s.name)).toEqual(["greedy", "standard", "typical"]);
    expect(strategies.every((s) => s.description.length > 20)).toBe(true);
  });

  it("samples a batch per step exactly like the in-process library, keeping per-sequence state", async () => {
    const params: MessageInitShape<typeof SamplingParamsSchema>[] = [
      { temperature: 0.9, topP: 0.8, repetitionPenalty: 1.3, frequencyPenalty: 0.5, logprobs: true, topLogprobs: 3 },
      { strategy: "typical", topP: 0.6, temperature: 1.2 },
      { temperature: 0 },
    ];
    const seeds = [11n, 22n, 33n];
    const prompt = [5, 6, 7];
    const registry = createStrategyRegistry();
    register(registry);
    const local = new Sampler({ vocabSize: VOCAB, registry });
    for (const [i, p] of params.entries()) local.open(String(i), { params: p, seed: seeds[i], promptTokenIds: prompt });

    const call = client.sample();
    const responses = call[Symbol.asyncIterator]();
    for (let step = 0; step < 6; step++) {
      const rows = params.map((_, i) => logitsOf(step, i));
      const response = await exchange(call, responses, {
        opened:
          step === 0
            ? params.map((p, i) => ({ sequenceId: BigInt(i), params: p, seed: seeds[i], promptTokenIds: prompt }))
            : [],
        steps: rows.map((logits, i) => ({ sequenceId: BigInt(i), logits: bytes(logits) })),
      });
      const expected = local.sampleBatch(rows.map((logits, i) => ({ sequenceId: String(i), logits })));
      expect(response.tokens.map((t) => t.error)).toEqual([undefined, undefined, undefined]);
      expect(response.tokens.map((t) => Number(t.sequenceId))).toEqual([0, 1, 2]);
      expect(response.tokens.map((t) => t.tokenId)).toEqual(expected.map((e) => ("tokenId" in e ? e.tokenId : -1)));
      const first = expected[0] as { logprob: number; topLogprobs: { tokenId: number }[] };
      expect(response.tokens[0].logprob).toBeCloseTo(first.logprob, 5);
      expect(response.tokens[0].topLogprobs.map((t) => t.tokenId)).toEqual(first.topLogprobs.map((t) => t.tokenId));
    }
    call.end();
  });

  it("accepts a step larger than gRPC's default 4 MiB message (24 sequences x GPT-2's vocabulary)", async () => {
    const vocab = 50_257;
    const rows = Array.from({ length: 24 }, (_, row) => {
      const logits = new Float32Array(vocab);
      logits[(row * 997) % vocab] = 1;
      return logits;
    });
    const call = client.sample();
    const response = await exchange(call, call[Symbol.asyncIterator](), {
      opened: rows.map((_, row) => ({ sequenceId: BigInt(row), params: { temperature: 0 } })),
      steps: rows.map((logits, row) => ({ sequenceId: BigInt(row), logits: bytes(logits) })),
    });
    expect(response.tokens.map((t) => t.tokenId)).toEqual(rows.map((_, row) => (row * 997) % vocab));
    call.end();
  });

  it("fails only the sequence with an unknown strategy or wrong-sized logits, listing the known strategies", async () => {
    const call = client.sample();
    const responses = call[Symbol.asyncIterator]();
    const good = logitsOf(0, 0);
    const response = await exchange(call, responses, {
      opened: [
        { sequenceId: 1n, params: { temperature: 0 } },
        { sequenceId: 2n, params: { strategy: "mirostat" } },
        { sequenceId: 3n, params: { temperature: 0 } },
      ],
      steps: [
        { sequenceId: 1n, logits: bytes(good) },
        { sequenceId: 2n, logits: bytes(good) },
        { sequenceId: 3n, logits: bytes(good.subarray(0, 10)) },
      ],
    });
    const [ok, unknown, short] = response.tokens;
    expect(ok.error).toBeUndefined();
    expect(ok.tokenId).toBe(good.indexOf(Math.max(...good)));
    expect(unknown.error?.code).toBe("invalid_argument");
    expect(unknown.error?.message).toMatch(/"mirostat" is unknown; known strategies: greedy, standard, typical/);
    expect(short.error?.code).toBe("invalid_argument");
    expect(short.error?.message).toMatch(/40 bytes.*4000/);

    // The stream goes on: a closed id can be opened again, and the failed one keeps failing until closed.
    const next = await exchange(call, responses, {
      opened: [{ sequenceId: 4n, params: { temperature: 0 } }],
      steps: [
        { sequenceId: 2n, logits: bytes(good) },
        { sequenceId: 4n, logits: bytes(logitsOf(1, 0)) },
      ],
      closed: [1n, 2n, 3n],
    });
    expect(next.tokens[0].error?.code).toBe("invalid_argument");
    expect(next.tokens[1].error).toBeUndefined();
    const reopened = await exchange(call, responses, {
      opened: [{ sequenceId: 1n, params: { temperature: 0 } }],
      steps: [{ sequenceId: 1n, logits: bytes(good) }],
    });
    expect(reopened.tokens[0].error).toBeUndefined();
    call.end();
  });
});
