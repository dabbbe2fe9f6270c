// Constraints through a remote sampler (real sampler and runner processes): the runner prepares the constraint
// on the sampler (sending its vocabulary once), and the tokens equal the in-process sampler's for the same
// seed; a constraint the sampler cannot compile fails only its own request with INVALID_ARGUMENT.
import { Engine, engineSizing, inProcessSampler, readModelConfig } from "@llm/engine";
import { silentLog } from "@llm/log";
import { ModelRunnerService } from "@llm/proto";
import { createClient, type ServiceClient } from "@llm/rpc";
import { ConstraintCompiler, Sampler, type SamplingParams } from "@llm/sampling";
import { type RunningService, startService } from "@llm/testing";
import { Tokenizer } from "@llm/tokenizer";
import { Ajv } from "ajv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { constraintVocabulary } from "../src/constraint-vocabulary.js";
import { collect, expectFailure, promptOf, RUNNER, SAMPLER, type SamplingInit, tinyModelDir } from "./helpers.js";

const SCHEMA = JSON.stringify({
  type: "object",
  properties: {
    kind: { enum: ["cat", "dog"] },
    ok: { type: "boolean" },
    code: { type: "string", pattern: "^[a-z]{2}$" },
  },
  required: ["kind", "ok", "code"],
  additionalProperties: false,
});
const CONSTRAINED: SamplingInit = {
  temperature: 1,
  seed: 5n,
  constraint: { case: "jsonSchema", value: { schema: SCHEMA, strict: true } },
};

let sampler: RunningService;
let runner: RunningService;
let client: ServiceClient<typeof ModelRunnerService>;
let reference: Engine<SamplingParams>;
let compiler: ConstraintCompiler;

beforeAll(async () => {
  const dir = await tinyModelDir();
  const { vocabSize, eosTokenIds } = await readModelConfig(dir);
  compiler = await ConstraintCompiler.create(await constraintVocabulary(dir, vocabSize, eosTokenIds));
  reference = await Engine.load({
    modelDir: dir,
    sampler: inProcessSampler(new Sampler({ vocabSize, constraints: compiler })),
    ...engineSizing({ LLM_EXECUTION_PROVIDERS: "cpu" }),
    log: silentLog,
  });
  sampler = await startService(SAMPLER, { name: "sampler" });
  runner = await startService(RUNNER, {
    name: "model-runner",
    env: { LLM_MODEL_DIR: dir, LLM_MODEL_ID: "tiny", LLM_SAMPLER_URL: sampler.address },
    timeoutMs: 60_000,
  });
  client = createClient(ModelRunnerService, runner.address);
}, 120_000);

afterAll(async () => {
  client?.close();
  compiler?.close();
  await reference?.close();
  await runner?.stop();
  await sampler?.stop();
});

const generate = (id: string, sampling: SamplingInit) =>
  collect(client.generate({ requestId: id, model: "tiny", promptTokenIds: promptOf(12, 3), maxTokens: 60, sampling }));

describe("constraints with a remote sampler", () => {
  it("gives the in-process sampler's tokens, which form schema-valid JSON", async () => {
    const remote = await generate("remote-json", CONSTRAINED);
    const local: number[] = [];
    for await (const event of reference.submit({
      requestId: "local-json",
      promptIds: promptOf(12, 3),
      maxTokens: 60,
      sampling: CONSTRAINED as SamplingParams,
    })) {
      if (event.type === "token") local.push(event.tokenId);
    }
    expect(remote.ids).toEqual(local);
    const tokenizer = await Tokenizer.fromFile(`${await tinyModelDir()}/tokenizer.json`);
    const text = tokenizer.decode(remote.ids, { skipSpecialTokens: true });
    expect(new Ajv().validate(JSON.parse(SCHEMA), JSON.parse(text)), text).toBe(true);
  }, 60_000);

  it("refuses what it cannot compile with INVALID_ARGUMENT, for that request only", async () => {
    const [bad, good] = await Promise.allSettled([
      generate("bad", { constraint: { case: "grammar", value: "root ::= missing" } }),
      generate("good", CONSTRAINED),
    ]);
    await expectFailure(
      bad.status === "rejected" ? Promise.reject(bad.reason) : Promise.resolve(),
      "invalid_argument",
      /cannot be compiled/,
    );
    expect(good.status).toBe("fulfilled");
  }, 60_000);
});
