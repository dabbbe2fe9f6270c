import { ConstraintCompiler as Compiler, type ConstraintCompiler, type ConstraintSpec, Sampler } from "@llm/sampling";
import type { Tokenizer } from "@llm/tokenizer";
import { Ajv } from "ajv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tinyVocabulary } from "./constraint-kit.js";
import { randomLogits } from "./helpers.js";

const PERSON = {
  type: "object",
  properties: {
    name: { type: "string", pattern: "^[A-Z][a-z]{0,10}$" },
    age: { enum: [18, 30, 45, 60] },
    role: { enum: ["admin", "user", "guest"] },
    active: { type: "boolean" },
    tags: { type: "array", items: { type: "string", pattern: "^[a-z]{1,6}$" }, maxItems: 3 },
  },
  required: ["name", "age", "role", "active", "tags"],
  additionalProperties: false,
};

let tokenizer: Tokenizer;
let compiler: ConstraintCompiler;
let slowLimited: ConstraintCompiler;

beforeAll(async () => {
  const tiny = await tinyVocabulary();
  tokenizer = tiny.tokenizer;
  // A loaded 2-core box: the default limit (2 s) is for production; these tests are about validity.
  compiler = await Compiler.create(tiny.vocabulary, { compileTimeoutMs: 20_000 });
  slowLimited = await Compiler.create(tiny.vocabulary, { compileTimeoutMs: 200 });
}, 60_000);
afterAll(() => {
  compiler?.close();
  slowLimited?.close();
});

/** Samples `sequences` constrained sequences on random logits (each step new ones) until each ends with EOS. */
async function generate(constraint: ConstraintSpec, sequences: number, maxTokens = 400): Promise<string[]> {
  const sampler = new Sampler({ vocabSize: tokenizer.vocabSize, constraints: compiler });
  const eos = tokenizer.eosTokenId as number;
  const outputs: number[][] = [];
  for (let i = 0; i < sequences; i++) {
    await sampler.openSequence(i, { params: { constraint, temperature: 1, seed: i } });
    outputs.push([]);
  }
  const live = new Set(outputs.keys());
  for (let step = 0; step < maxTokens && live.size > 0; step++) {
    await sampler.ready();
    const ids = [...live];
    const results = sampler.sampleBatch(
      ids.map((id) => ({ sequenceId: id, logits: randomLogits(tokenizer.vocabSize, step * 1000 + id) })),
    );
    results.forEach((result, i) => {
      if ("error" in result) throw result.error;
      if (result.tokenId === eos) live.delete(ids[i]);
      else outputs[ids[i]].push(result.tokenId);
    });
  }
  expect(live.size, "every sequence reached EOS").toBe(0);
  return outputs.map((ids) => tokenizer.decode(ids));
}

describe("constraints on random logits (the constraint, not the model, makes the output valid)", () => {
  it("json_schema: every output parses and validates", async () => {
    const validate = new Ajv().compile(PERSON);
    const texts = await generate({ case: "jsonSchema", value: { schema: JSON.stringify(PERSON), strict: true } }, 16);
    for (const text of texts)
      expect(validate(JSON.parse(text)), `${text}: ${JSON.stringify(validate.errors)}`).toBe(true);
  }, 120_000);

  it("choice, regex and grammar", async () => {
    const choices = await generate({ case: "choice", value: { options: ["yes", "no", "maybe later"] } }, 8);
    for (const text of choices) expect(["yes", "no", "maybe later"]).toContain(text);
    const dates = await generate({ case: "regex", value: "[0-9]{4}-[0-9]{2}-[0-9]{2}" }, 8);
    for (const text of dates) expect(text).toMatch(/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/);
    const sums = await generate(
      { case: "grammar", value: 'root ::= num (" + " num){0,3}\nnum ::= [1-9] [0-9]{0,2}' },
      8,
    );
    for (const text of sums) expect(text).toMatch(/^[1-9][0-9]{0,2}( \+ [1-9][0-9]{0,2}){0,3}$/);
  }, 120_000);

  it("json_object: an object", async () => {
    // Unbounded JSON can run long on random logits; a small max and the first closing brace is enough here.
    const sampler = new Sampler({ vocabSize: tokenizer.vocabSize, constraints: compiler });
    await sampler.openSequence("o", { params: { constraint: { case: "jsonObject", value: true }, seed: 3 } });
    await sampler.ready();
    const [first] = sampler.sampleBatch([{ sequenceId: "o", logits: randomLogits(tokenizer.vocabSize, 1) }]);
    expect(tokenizer.decode([(first as { tokenId: number }).tokenId]).trimStart()[0]).toBe("{");
  });
});

describe("refusals name what is wrong", () => {
  const sampler = () => new Sampler({ vocabSize: tokenizer.vocabSize, constraints: compiler });
  const schema = (value: unknown): ConstraintSpec => ({
    case: "jsonSchema",
    value: { schema: JSON.stringify(value), strict: false },
  });

  it.each([
    [schema({ type: "object", patternProperties: { "^a": {} } }), /keyword "patternProperties" at #/],
    [schema({ type: "object", properties: { a: { not: {} } } }), /keyword "not" at #\/properties\/a/],
    [schema({ type: "integer", maximum: 3 }), /keyword "maximum" at # is not supported/],
    [
      {
        case: "jsonSchema",
        value: { schema: JSON.stringify({ type: "object", properties: { a: {} } }), strict: true },
      },
      /additionalProperties/,
    ],
    [{ case: "jsonSchema", value: { schema: "{", strict: false } }, /not valid JSON/],
    [{ case: "regex", value: "(" }, /not a valid regular expression/],
    [{ case: "choice", value: { options: [] } }, /at least one option/],
    [{ case: "grammar", value: "root ::= undefined_rule" }, /cannot be compiled/],
    [schema({ type: "string", pattern: "x".repeat(70_000) }), /bytes; the limit/],
  ] as [ConstraintSpec, RegExp][])("%#", async (constraint, message) => {
    await expect(sampler().openSequence(1, { params: { constraint } })).rejects.toMatchObject({
      code: "invalid_argument",
      message: expect.stringMatching(message),
    });
  });

  it("a sampler without a compiler refuses constraints; open (sync) asks for openSequence", async () => {
    const plain = new Sampler({ vocabSize: tokenizer.vocabSize });
    await expect(plain.openSequence(1, { params: { constraint: { case: "regex", value: "a" } } })).rejects.toThrow(
      /not available/,
    );
    // The remote sampler service opens sequences this way: without a vocabulary it refuses by name.
    expect(() => plain.open(1, { params: { constraint: { case: "regex", value: "a" } } })).toThrow(/not available/);
    expect(() => sampler().open(1, { params: { constraint: { case: "regex", value: "a" } } })).toThrow(/openSequence/);
  });

  it("a grammar that compiles too slowly is refused, and the compiler goes on serving", async () => {
    // Bounded-length strings make XGrammar precompute masks over the whole 50k vocabulary: seconds here.
    const slow = schema({ type: "object", properties: { s: { type: "string", minLength: 50, maxLength: 100 } } });
    await expect(slowLimited.compile(slow as never)).rejects.toMatchObject({
      code: "invalid_argument",
      message: expect.stringMatching(/did not compile within 200 ms/),
    });
    await expect(slowLimited.compile({ case: "choice", value: { options: ["a"] } })).resolves.toBeDefined();
  }, 60_000);

  it("compiled grammars are cached per constraint", async () => {
    const spec: ConstraintSpec = { case: "regex", value: "[a-c]{3}" };
    const before = compiler.stats;
    await compiler.compile(spec);
    await compiler.compile(spec);
    expect(compiler.stats.compiled - before.compiled).toBe(1);
    expect(compiler.stats.cacheHits - before.cacheHits).toBe(1);
  });
});
