// Structured outputs over HTTP with the official `openai` client, on the random-weight tiny model: validity comes
// from the constraint, not the model. Bad schemas are refused with 400s naming the problem, and a refused
// request leaves its batch-mates' tokens unchanged.
import { Ajv } from "ajv";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalGateway, startLocalGateway } from "./gateway-kit.js";

/** A typical extraction schema; string lengths are bounded by patterns so random logits finish within max_tokens. */
const CONTACT = {
  type: "object",
  properties: {
    name: { type: "string", pattern: "^[A-Z][a-z]{1,8}$" },
    age: { enum: [18, 30, 45, 60] },
    role: { enum: ["admin", "user", "guest"] },
    active: { type: "boolean" },
    tags: { type: "array", items: { enum: ["red", "green", "blue"] }, maxItems: 3 },
  },
  required: ["name", "age", "role", "active", "tags"],
  additionalProperties: false,
};
const CONTACT_FORMAT = {
  type: "json_schema" as const,
  json_schema: { name: "contact", schema: CONTACT, strict: true },
};
/** Three bounded strings of 50-100 characters: XGrammar takes seconds per property over a 50k vocabulary. */
const PATHOLOGICAL = {
  type: "object",
  properties: Object.fromEntries(
    [0, 1, 2].map((i) => [`p${i}`, { type: "string", minLength: 50 + i, maxLength: 100 + i }]),
  ),
};
const COMPILE_LIMIT_MS = 3000;

let gateway: LocalGateway;
let openai: OpenAI;

beforeAll(async () => {
  gateway = await startLocalGateway({}, { runnerEnv: { LLM_CONSTRAINT_COMPILE_TIMEOUT_MS: String(COMPILE_LIMIT_MS) } });
  openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "unused", maxRetries: 0 });
}, 120_000);
afterAll(() => gateway?.services.stopAll());

const ask = (seed: number) => ({
  model: "tiny",
  messages: [{ role: "user" as const, content: `Describe contact number ${seed}.` }],
  seed,
  temperature: 1,
  max_tokens: 120,
});

describe("response_format json_schema", () => {
  it("chat.completions.parse returns a schema-valid object on every one of 50 seeded requests", async () => {
    const validate = new Ajv().compile(CONTACT);
    const seeds = Array.from({ length: 50 }, (_, i) => i);
    const completions = [];
    for (let i = 0; i < seeds.length; i += 10) {
      completions.push(
        ...(await Promise.all(
          seeds
            .slice(i, i + 10)
            .map((seed) => openai.chat.completions.parse({ ...ask(seed), response_format: CONTACT_FORMAT })),
        )),
      );
    }
    for (const completion of completions) {
      const [choice] = completion.choices;
      expect(choice.finish_reason, choice.message.content ?? "").toBe("stop");
      expect(validate(choice.message.parsed), `${choice.message.content} ${JSON.stringify(validate.errors)}`).toBe(
        true,
      );
    }
  }, 300_000);

  it("json_object and the guided_* extensions on completions", async () => {
    const choice = await openai.completions.create({
      model: "tiny",
      prompt: "Yes or no?",
      max_tokens: 20,
      seed: 1,
      // @ts-expect-error vLLM's extension, not in the client's types
      guided_choice: ["yes", "no"],
    });
    expect(["yes", "no"]).toContain(choice.choices[0].text);
    const date = await openai.completions.create({
      model: "tiny",
      prompt: "Date:",
      max_tokens: 20,
      seed: 2,
      // @ts-expect-error vLLM's extension
      guided_regex: "20[0-9]{2}-[01][0-9]-[0-3][0-9]",
    });
    expect(date.choices[0].text).toMatch(/^20[0-9]{2}-[01][0-9]-[0-3][0-9]$/);
    const object = await openai.chat.completions.create({
      ...ask(3),
      max_tokens: 8,
      response_format: { type: "json_object" },
    });
    expect(object.choices[0].message.content?.trimStart().startsWith("{")).toBe(true);
  }, 120_000);
});

describe("refusals", () => {
  const refusal = async (body: Record<string, unknown>) => {
    const error = await openai.chat.completions.create({ ...ask(7), ...body } as never).then(
      () => undefined,
      (err: unknown) => err as { status?: number; message: string },
    );
    expect(error, "refused").toBeDefined();
    return error as { status?: number; message: string };
  };
  const schemaFormat = (schema: unknown, strict = false) => ({
    response_format: { type: "json_schema", json_schema: { name: "x", schema, strict } },
  });

  it("unsupported keywords, broken schemas, too big and too slow: 400 naming the problem", async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [schemaFormat({ type: "object", patternProperties: { "^a": {} } }), /"patternProperties" at #/],
      [schemaFormat({ type: "integer", minimum: 1 }), /"minimum" at # is not supported/],
      [schemaFormat({ type: "object", properties: { a: { type: "string" } } }, true), /additionalProperties/],
      [schemaFormat({ type: "object", properties: { a: { type: "strin" } } }), /"type" "strin"/],
      [schemaFormat({ type: "string", description: "x".repeat(70_000) }), /bytes; the limit is 65536/],
      [{ guided_grammar: "root ::= nowhere" }, /cannot be compiled/],
      [{ guided_regex: "(" }, /not a valid regular expression/],
      [{ guided_choice: ["a"], response_format: { type: "json_object" } }, /only one of/],
      [schemaFormat(PATHOLOGICAL), new RegExp(`did not compile within ${COMPILE_LIMIT_MS} ms`)],
    ];
    for (const [body, message] of cases) {
      const error = await refusal(body);
      expect(error.status, error.message).toBe(400);
      expect(error.message).toMatch(message);
    }
  }, 120_000);

  it("a refused request leaves its batch-mates' tokens unchanged and the runner serving", async () => {
    const mates = [11, 12, 13, 14];
    const run = () =>
      Promise.all(
        mates.map((seed) => openai.chat.completions.create({ ...ask(seed), response_format: CONTACT_FORMAT })),
      );
    const alone = await run();
    const [together, refused] = await Promise.all([run(), refusal(schemaFormat(PATHOLOGICAL))]);
    expect(refused.status).toBe(400);
    expect(together.map((c) => c.choices[0].message.content)).toEqual(alone.map((c) => c.choices[0].message.content));
  }, 120_000);
});
