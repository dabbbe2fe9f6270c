// The runner with LLM_SAMPLER_URL: a real sampler process behind a real runner process. Tokens must equal
// the engine's with the in-process sampler; a plugin deployed by restarting only the sampler becomes
// selectable without restarting the runner; a sampler dying mid-stream fails the request, never hangs it.
import type { Engine } from "@llm/engine";
import { FinishReason, ModelRunnerService } from "@llm/proto";
import { createClient, type ServiceClient } from "@llm/rpc";
import type { SamplingParams } from "@llm/sampling";
import { type RunningService, startService } from "@llm/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  collect,
  expectFailure,
  GREEDY,
  promptOf,
  RUNNER,
  referenceEngine,
  referenceIds,
  SAMPLER,
  type SamplingInit,
  TYPICAL_PLUGIN,
  tinyModelDir,
} from "./helpers.js";

let sampler: RunningService;
let runner: RunningService;
let client: ServiceClient<typeof ModelRunnerService>;
let reference: Engine<SamplingParams>;

beforeAll(async () => {
  [sampler, reference] = await Promise.all([startService(SAMPLER, { name: "sampler" }), referenceEngine()]);
  runner = await startService(RUNNER, {
    name: "model-runner",
    env: { LLM_MODEL_DIR: await tinyModelDir(), LLM_MODEL_ID: "tiny", LLM_SAMPLER_URL: sampler.address },
    timeoutMs: 60_000,
  });
  client = createClient(ModelRunnerService, runner.address);
});

afterAll(async () => {
  client?.close();
  await reference?.close();
  expect((await runner?.stop())?.code).toBe(0);
  expect((await sampler?.stop())?.code).toBe(0);
});

const generate = (id: string, promptTokenIds: number[], maxTokens: number, sampling: SamplingInit) =>
  client.generate({ requestId: id, model: "tiny", promptTokenIds, maxTokens, sampling, ignoreEos: true });

const SEEDED_TOP_P: SamplingInit = { temperature: 0.8, topP: 0.9, seed: 7n, repetitionPenalty: 1.2 };

describe("model runner with a remote sampler (real processes)", () => {
  it("logs that it samples remotely", () => {
    expect(runner.stderr()).toMatch(new RegExp(`"sampler":"remote ${sampler.address}"`));
  });

  it("gives the same tokens as the in-process sampler, greedy and seeded top-p, batched together", async () => {
    const cases = [
      { prompt: promptOf(10, 1), sampling: GREEDY },
      { prompt: promptOf(40, 2), sampling: GREEDY },
      { prompt: promptOf(10, 1), sampling: SEEDED_TOP_P },
      { prompt: promptOf(25, 3), sampling: { ...SEEDED_TOP_P, seed: 99n, logprobs: true, topLogprobs: 2 } },
    ];
    const remote = await Promise.all(
      cases.map(({ prompt, sampling }, i) => collect(generate(`same-${i}`, prompt, 20, sampling))),
    );
    for (const [i, { prompt, sampling }] of cases.entries()) {
      expect(remote[i].ids).toEqual(await referenceIds(reference, prompt, 20, sampling as SamplingParams));
    }
    expect(remote[3].tokens.every((t) => t.topLogprobs.length === 2 && t.logprob < 0)).toBe(true);
  });

  it("fails only the request naming an unknown strategy, listing the sampler's strategies", async () => {
    const prompt = promptOf(12, 4);
    const [good, bad] = await Promise.allSettled([
      collect(generate("good", prompt, 16, SEEDED_TOP_P)),
      collect(generate("bad", prompt, 16, { strategy: "typical" })),
    ]);
    expect(good.status === "fulfilled" && good.value.ids).toEqual(
      await referenceIds(reference, prompt, 16, SEEDED_TOP_P as SamplingParams),
    );
    await expectFailure(
      bad.status === "rejected" ? Promise.reject(bad.reason) : Promise.resolve(),
      "invalid_argument",
      /"typical" is unknown; known strategies: greedy, standard$/,
    );
  });

  it("fails the in-flight request with UNAVAILABLE when the sampler dies, then serves a plugin from the restarted sampler", async () => {
    const port = sampler.address.split(":").at(-1) as string;
    const inFlight = collect(generate("doomed", promptOf(8, 5), 1000, GREEDY), (token) => {
      if (token.index === 3) sampler.process.kill("SIGKILL");
    });
    await expectFailure(inFlight, "unavailable", /sampler at .* (failed|restarted)/);
    expect((await sampler.stop()).signal).toBe("SIGKILL");

    // Deploy the plugin: restart only the sampler, on the same address.
    sampler = await startService(SAMPLER, {
      name: "sampler (with plugin)",
      env: { LLM_PORT: port, LLM_SAMPLER_PLUGINS: TYPICAL_PLUGIN },
    });
    const runnerPid = runner.process.pid;
    const typical: SamplingInit = { strategy: "typical", topP: 0.7, temperature: 0.9, seed: 5n };
    const prompt = promptOf(14, 6);
    const { ids, final } = await collect(generate("typical", prompt, 16, typical));
    expect(final.finishReason).toBe(FinishReason.LENGTH);
    expect(ids).toEqual(await referenceIds(reference, prompt, 16, typical as SamplingParams));
    expect(runner.process.pid).toBe(runnerPid);
    expect(runner.process.exitCode).toBeNull();
    expect((await client.info({})).running).toBe(0);
  });

  it("reconnects after a graceful sampler restart while idle: the next request does not fail", async () => {
    const port = sampler.address.split(":").at(-1) as string;
    expect((await sampler.stop()).code).toBe(0); // drains: ends the runner's idle stream
    sampler = await startService(SAMPLER, { name: "sampler (restarted)", env: { LLM_PORT: port } });
    const prompt = promptOf(9, 7);
    const { ids } = await collect(generate("after-restart", prompt, 12, SEEDED_TOP_P));
    expect(ids).toEqual(await referenceIds(reference, prompt, 12, SEEDED_TOP_P as SamplingParams));
    expect(runner.stderr()).toMatch(/sampler stream lost; reconnecting/);
  });
});
