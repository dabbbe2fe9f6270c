// Memory under sustained generation through a remote sampler: a runner and a sampler service as real processes
// (under --expose-gc, so each /memory report is live memory after a full collection). Two thousand tokens
// after a warm-up must leave heap + external memory of both processes nearly where they were: a leak of one
// logits row per token (GPT-2's vocabulary: 200 KB) would add hundreds of megabytes.
import { ModelRunnerService } from "@llm/proto";
import { createClient, type ServiceClient } from "@llm/rpc";
import { MEMORY_REPORT_PATH, type MemoryReport } from "@llm/telemetry";
import { type RunningService, ServiceGroup } from "@llm/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collect, promptOf, RUNNER, SAMPLER, type SamplingInit, tinyModelDir } from "./helpers.js";

const DEBUG_ENV = { NODE_OPTIONS: "--expose-gc", LLM_METRICS_PORT: "0" };
const STREAMS = 8; // the runner's default batch size: every step carries 8 logits rows
const TOKENS_PER_STREAM = 64;
const ROUNDS = 4; // after the warm-up round: 4 × 8 × 64 = 2,048 tokens
/** Growth allowed over the measured rounds: 8 KB per token, 25× below the leak this test exists for. */
const MAX_GROWTH_BYTES = 16 * 1024 ** 2;
const SAMPLING: SamplingInit = { temperature: 0, logprobs: true }; // cheap to sample; the logits travel all the same

const services = new ServiceGroup();
let sampler: RunningService;
let runner: RunningService;
let client: ServiceClient<typeof ModelRunnerService>;

beforeAll(async () => {
  [sampler] = await services.start([[SAMPLER, { name: "sampler", env: DEBUG_ENV }]]);
  [runner] = await services.start([
    [
      RUNNER,
      {
        name: "model-runner",
        env: {
          ...DEBUG_ENV,
          LLM_MODEL_DIR: await tinyModelDir(),
          LLM_MODEL_ID: "tiny",
          LLM_SAMPLER_URL: sampler.address,
        },
        timeoutMs: 60_000,
      },
    ],
  ]);
  client = createClient(ModelRunnerService, runner.address);
});

afterAll(async () => {
  client?.close();
  await services.stopAll();
});

async function memoryOf(service: RunningService, name: string): Promise<MemoryReport> {
  const response = await fetch(`http://${await service.listening(`${name}-metrics`)}${MEMORY_REPORT_PATH}`);
  const report = (await response.json()) as MemoryReport;
  expect(report.collected, `${name} runs without --expose-gc`).toBe(true);
  return report;
}

const live = ({ heapUsed, external }: MemoryReport) => heapUsed + external;

/** One round: STREAMS concurrent requests of TOKENS_PER_STREAM tokens each; returns the tokens generated. */
async function round(n: number): Promise<number> {
  const generations = await Promise.all(
    Array.from({ length: STREAMS }, (_, i) =>
      collect(
        client.generate({
          requestId: `memory-${n}-${i}`,
          model: "tiny",
          promptTokenIds: promptOf(12, n * STREAMS + i),
          maxTokens: TOKENS_PER_STREAM,
          sampling: SAMPLING,
          ignoreEos: true,
        }),
      ),
    ),
  );
  return generations.reduce((sum, { ids }) => sum + ids.length, 0);
}

describe("memory with a remote sampler (real processes, --expose-gc)", () => {
  it("stays flat in the sampler and the runner over two thousand generated tokens", async () => {
    await round(0); // warm-up: code paths compiled, pools and caches at their working size
    const before = { sampler: await memoryOf(sampler, "sampler"), runner: await memoryOf(runner, "model-runner") };
    let tokens = 0;
    for (let n = 1; n <= ROUNDS; n++) tokens += await round(n);
    const after = { sampler: await memoryOf(sampler, "sampler"), runner: await memoryOf(runner, "model-runner") };
    expect(tokens).toBe(ROUNDS * STREAMS * TOKENS_PER_STREAM);
    for (const name of ["sampler", "runner"] as const) {
      const growth = live(after[name]) - live(before[name]);
      expect(growth, `${name}: ${Math.round(growth / tokens)} bytes per token`).toBeLessThan(MAX_GROWTH_BYTES);
    }
  }, 180_000);
});
