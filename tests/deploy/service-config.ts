// What each service reads from its environment, taken from its main.ts (the only place a service reads
// configuration), so deployment files can be checked against the code rather than against a copied list.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { REGISTRY } from "@llm/config";
import { HOST_CONFIG } from "@llm/launcher/host";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const SERVICES = ["gateway", "tokenizer", "detokenizer", "sampler", "embedder", "model-runner"] as const;
export type ServiceName = (typeof SERVICES)[number];

export const REGISTRY_NAMES = new Set(Object.keys(REGISTRY));

function mainSource(service: ServiceName): string {
  return readFileSync(`${REPO_ROOT}services/${service}/src/main.ts`, "utf8");
}

/** The names main.ts gives runService (`config: [names]`), plus what the service host reads for every service. */
export function namesReadBy(service: ServiceName): Set<string> {
  const lists = [...mainSource(service).matchAll(/\bconfig:\s*\[([^\]]*)\]/g)].map((m) => m[1] ?? "");
  if (lists.length === 0) throw new Error(`services/${service}/src/main.ts: no runService({ config: [names] }) found`);
  const own = lists.flatMap((list) => [...list.matchAll(/"(LLM_\w+)"/g)].map((m) => m[1] as string));
  // A runner's engine sizes itself from the environment (engineSizing, packages/engine/src/sizing.ts).
  const sizing = /\bengineSizing\(/.test(mainSource(service)) ? namesIn(ENGINE_SIZING) : [];
  return new Set([...HOST_CONFIG, ...own, ...sizing]);
}

const ENGINE_SIZING = readFileSync(`${REPO_ROOT}packages/engine/src/sizing.ts`, "utf8");

function namesIn(source: string): string[] {
  const lists = [...source.matchAll(/readConfig\([^,]+,\s*\[([^\]]*)\]/g)].map((m) => m[1] ?? "");
  return lists.flatMap((list) => [...list.matchAll(/"(LLM_\w+)"/g)].map((m) => m[1] as string));
}

/** The service an image target or container name belongs to (the GPU runner is a model-runner). */
export function serviceOf(target: string): ServiceName | undefined {
  const name = target.replace(/-gpu$/, "");
  return (SERVICES as readonly string[]).includes(name) ? (name as ServiceName) : undefined;
}
