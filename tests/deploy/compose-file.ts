// docker-compose.yml as compose reads it: `${NAME}`, `${NAME:-default}` and `${NAME:?message}` interpolated from
// .env.example (the committed template of .env), YAML merge keys resolved.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { REPO_ROOT, type ServiceName, serviceOf } from "./service-config.js";

// biome-ignore lint/suspicious/noExplicitAny: compose files are untyped YAML until validated
export type Any = any;

export const COMPOSE_TEXT = readFileSync(join(REPO_ROOT, "docker-compose.yml"), "utf8");
export const VARIABLE = /\$\{(\w+)(?::?[-?][^}]*)?\}/g;

function readEnvFile(path: string): Map<string, string> {
  const entries = readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line.trim() && !line.startsWith("#"))
    .map((line) => line.split(/=(.*)/s) as [string, string]);
  return new Map(entries);
}

export const DOT_ENV = readEnvFile(join(REPO_ROOT, ".env.example"));

function interpolate(text: string, env: Map<string, string>): string {
  return text.replace(VARIABLE, (whole, name: string) => {
    const value = env.get(name);
    if (value === undefined) throw new Error(`${whole}: ${name} is not in .env.example`);
    return value;
  });
}

export const compose = parse(interpolate(COMPOSE_TEXT, DOT_ENV), { merge: true }) as Any;

/** The compose services that run one of the project's images, with the service each runs. */
export const projectServices: { name: string; definition: Any; service: ServiceName }[] = Object.entries(
  compose.services as Record<string, Any>,
).flatMap(([name, definition]) => {
  const service = serviceOf(String(definition.image).replace(/^.*\/|:.*$/g, ""));
  return service ? [{ name, definition, service }] : [];
});
