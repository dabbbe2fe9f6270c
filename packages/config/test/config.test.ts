import { LlmError } from "@llm/errors";
import { describe, expect, expectTypeOf, it } from "vitest";
import { describeConfig, REGISTRY, readConfig, refuseUnknownConfigNames, unknownConfigNames } from "../src/index.js";

describe("readConfig", () => {
  it("gives defaults for unset or empty variables", () => {
    const config = readConfig({ LLM_PORT: "" }, ["LLM_HOST", "LLM_PORT", "LLM_EXECUTION_PROVIDERS", "LLM_REDIS_URL"]);
    expect(config).toEqual({
      LLM_HOST: "127.0.0.1",
      LLM_PORT: 0,
      LLM_EXECUTION_PROVIDERS: ["cuda", "webgpu", "cpu"],
      LLM_REDIS_URL: undefined,
    });
    expectTypeOf(config.LLM_PORT).toEqualTypeOf<number>();
    expectTypeOf(config.LLM_EXECUTION_PROVIDERS).toEqualTypeOf<("cuda" | "webgpu" | "cpu")[]>();
    expectTypeOf(config.LLM_REDIS_URL).toEqualTypeOf<string[] | undefined>();
  });

  it("parses each kind of value", () => {
    const config = readConfig(
      {
        LLM_PORT: "50051",
        LLM_LOG_LEVEL: "debug",
        LLM_EXECUTION_PROVIDERS: " cpu , webgpu ",
        LLM_REDIS_URL: "redis://10.0.0.2:6380/1",
        LLM_REDIS_CLUSTER: "true",
        LLM_TOKENIZER_URL: "tokenizer.internal:7001",
        LLM_SAMPLER_URL: "[::1]:7002",
        LLM_KV_AWARE_ROUTING: "no",
        LLM_MAX_BATCH_SIZE: "32",
      },
      [
        "LLM_PORT",
        "LLM_LOG_LEVEL",
        "LLM_EXECUTION_PROVIDERS",
        "LLM_REDIS_URL",
        "LLM_REDIS_CLUSTER",
        "LLM_TOKENIZER_URL",
        "LLM_SAMPLER_URL",
        "LLM_KV_AWARE_ROUTING",
        "LLM_MAX_BATCH_SIZE",
      ],
    );
    expect(config).toEqual({
      LLM_PORT: 50051,
      LLM_LOG_LEVEL: "debug",
      LLM_EXECUTION_PROVIDERS: ["cpu", "webgpu"],
      LLM_REDIS_URL: ["redis://10.0.0.2:6380/1"],
      LLM_REDIS_CLUSTER: true,
      LLM_TOKENIZER_URL: "tokenizer.internal:7001",
      LLM_SAMPLER_URL: "[::1]:7002",
      LLM_KV_AWARE_ROUTING: false,
      LLM_MAX_BATCH_SIZE: 32,
    });
  });

  it.each([
    ["LLM_PORT", "70000", /LLM_PORT="70000": expected an integer from 0 to 65535/],
    ["LLM_PORT", "12ab", /LLM_PORT="12ab": expected an integer/],
    ["LLM_MAX_BATCH_SIZE", "0", /LLM_MAX_BATCH_SIZE="0": expected an integer from 1/],
    ["LLM_MAX_BATCH_SIZE", "1.5", /LLM_MAX_BATCH_SIZE="1.5"/],
    ["LLM_LOG_LEVEL", "verbose", /expected one of debug, info, warn, error/],
    [
      "LLM_REDIS_URL",
      "redis://a:6379,localhost:6379",
      /item "localhost:6379": expected a comma-separated list, each a URL starting with redis:\/\/ or rediss:\/\//,
    ],
    ["LLM_TOKENIZER_URL", "http://x:1", /expected host:port/],
    ["LLM_TOKENIZER_URL", "x:0", /expected host:port/],
    [
      "LLM_EXECUTION_PROVIDERS",
      "cpu,tpu",
      /item "tpu": expected a comma-separated list, each one of cuda, webgpu, cpu/,
    ],
    ["LLM_KV_AWARE_ROUTING", "maybe", /expected true or false/],
  ] as const)("rejects %s=%s naming the variable and the expected form", (name, raw, message) => {
    expect(() => readConfig({ [name]: raw }, [name])).toThrow(message);
  });

  it("reports every bad variable at once, as invalid_argument", () => {
    let thrown: unknown;
    try {
      readConfig({ LLM_PORT: "-1", LLM_MAX_INFLIGHT: "many" }, ["LLM_PORT", "LLM_MAX_INFLIGHT", "LLM_HOST"]);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(LlmError);
    expect((thrown as LlmError).code).toBe("invalid_argument");
    expect((thrown as LlmError).message).toMatch(/LLM_PORT="-1".*\n.*LLM_MAX_INFLIGHT="many"/);
  });

  it("refuses a name the registry does not know", () => {
    expect(() => readConfig({}, ["LLM_NOPE" as "LLM_HOST"])).toThrow(/LLM_NOPE is not in the configuration registry/);
  });
});

describe("registry", () => {
  it("names every variable LLM_* and has defaults that parse back to themselves", () => {
    for (const [name, spec] of Object.entries(REGISTRY)) {
      expect(name).toMatch(/^LLM_[A-Z0-9_]+$/);
      expect(spec.doc.length).toBeGreaterThan(10);
      if (spec.default !== undefined) {
        const text = Array.isArray(spec.default) ? spec.default.join(",") : String(spec.default);
        expect(spec.parse.parse(text)).toEqual(spec.default);
      }
    }
  });

  it("flags LLM_* variables it does not know", () => {
    expect(unknownConfigNames({ LLM_PORT: "1", LLM_MAX_BATCHSIZE: "8", PATH: "/bin" })).toEqual(["LLM_MAX_BATCHSIZE"]);
  });

  it("refuses unknown LLM_* variables by name, and passes a known-only environment", () => {
    expect(() =>
      refuseUnknownConfigNames({ LLM_PORT: "1", LLM_MAX_BATCHSIZE: "8", LLM_NOPE: "", PATH: "/bin" }),
    ).toThrow(/unknown configuration variables LLM_MAX_BATCHSIZE, LLM_NOPE: not in the registry/);
    expect(() => refuseUnknownConfigNames({ LLM_PORT: "1", PATH: "/bin" })).not.toThrow();
  });

  it("renders a markdown table with one row per variable", () => {
    const table = describeConfig().split("\n");
    expect(table[0]).toBe("| Variable | Form | Default | Meaning |");
    expect(table).toHaveLength(2 + Object.keys(REGISTRY).length);
    expect(table).toContain(
      `| \`LLM_EXECUTION_PROVIDERS\` | a comma-separated list, each one of cuda, webgpu, cpu | \`cuda,webgpu,cpu\` | ${REGISTRY.LLM_EXECUTION_PROVIDERS.doc} |`,
    );
  });
});
