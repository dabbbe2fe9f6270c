import { LlmError } from "@llm/errors";
import { type ConfigName, type ConfigValue, type ConfigVar, REGISTRY } from "./registry.js";

export type Env = Readonly<Record<string, string | undefined>>;
export type Config<N extends ConfigName> = { [K in N]: ConfigValue<K> };

/**
 * Reads the named variables from `env`. Unset or empty variables take their default. Every bad value is
 * reported at once, each with the variable's name and the form it expects.
 */
export function readConfig<const N extends ConfigName>(env: Env, names: readonly N[]): Config<N> {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const name of names) {
    const spec: ConfigVar<unknown> | undefined = Object.hasOwn(REGISTRY, name) ? REGISTRY[name] : undefined;
    if (!spec) throw new TypeError(`${name} is not in the configuration registry (packages/config)`);
    const raw = env[name];
    if (raw === undefined || raw.trim() === "") {
      values[name] = spec.default;
      continue;
    }
    try {
      values[name] = spec.parse.parse(raw);
    } catch (err) {
      problems.push(`${name}=${JSON.stringify(raw)}: ${(err as Error).message}`);
    }
  }
  if (problems.length > 0) {
    throw new LlmError("invalid_argument", `invalid configuration:\n  ${problems.join("\n  ")}`, {
      details: { variables: problems },
    });
  }
  return values as Config<N>;
}

/** LLM_* variables set in `env` that the registry does not know: most likely typos. */
export function unknownConfigNames(env: Env): string[] {
  return Object.keys(env).filter((name) => name.startsWith("LLM_") && !Object.hasOwn(REGISTRY, name));
}

/**
 * Throws INVALID_ARGUMENT naming every LLM_* variable of `env` the registry does not know: a misspelt setting
 * would otherwise be ignored in silence and the service run with the default instead.
 */
export function refuseUnknownConfigNames(env: Env): void {
  const unknown = unknownConfigNames(env);
  if (unknown.length === 0) return;
  throw new LlmError(
    "invalid_argument",
    `unknown configuration variable${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")}: not in the registry ` +
      "(packages/config/src/registry.ts, listed in docs/OPERATIONS.md); fix the name or unset it",
    { details: { variables: unknown } },
  );
}

/** The registry as a markdown table, for the docs. */
export function describeConfig(): string {
  const rows = Object.entries(REGISTRY).map(([name, spec]: [string, ConfigVar<unknown>]) => {
    const fallback = spec.default === undefined ? "(unset)" : `\`${formatDefault(spec.default)}\``;
    return `| \`${name}\` | ${spec.parse.form} | ${fallback} | ${spec.doc} |`;
  });
  return ["| Variable | Form | Default | Meaning |", "|---|---|---|---|", ...rows].join("\n");
}

function formatDefault(value: unknown): string {
  return Array.isArray(value) ? value.join(",") : String(value);
}
