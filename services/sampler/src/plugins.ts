// Strategy plugins: modules an operator names in LLM_SAMPLER_PLUGINS, loaded when the sampler starts. A
// module exports `register(registry)` (or default-exports that function) and adds its strategies there.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { StrategyRegistry } from "@llm/sampling";

export type RegisterStrategies = (registry: StrategyRegistry) => void | Promise<void>;

/** Loads each module in order into `registry`; returns the strategy names each one added. */
export async function loadStrategyPlugins(
  registry: StrategyRegistry,
  modules: readonly string[],
  cwd: string = process.cwd(),
): Promise<{ module: string; strategies: string[] }[]> {
  const loaded = [];
  for (const module of modules) {
    const before = new Set(registry.names());
    const register = registerFunctionOf(module, await importPlugin(module, cwd));
    try {
      await register(registry);
    } catch (err) {
      throw new Error(`sampler plugin ${module}: register(registry) failed: ${(err as Error).message}`, { cause: err });
    }
    loaded.push({ module, strategies: registry.names().filter((name) => !before.has(name)) });
  }
  return loaded;
}

/** A file that exists (relative paths from `cwd`) is imported as a file; anything else as a package name. */
async function importPlugin(module: string, cwd: string): Promise<Record<string, unknown>> {
  const path = resolve(cwd, module);
  const specifier = existsSync(path) ? pathToFileURL(path).href : module;
  try {
    return (await import(specifier)) as Record<string, unknown>;
  } catch (err) {
    throw new Error(
      `sampler plugin ${module} cannot be loaded (${(err as Error).message}); check LLM_SAMPLER_PLUGINS`,
      { cause: err },
    );
  }
}

function registerFunctionOf(module: string, exports: Record<string, unknown>): RegisterStrategies {
  const register = exports.register ?? exports.default;
  if (typeof register !== "function") {
    throw new Error(`sampler plugin ${module} exports neither register(registry) nor a default function`);
  }
  return register as RegisterStrategies;
}
