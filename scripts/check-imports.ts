// The floors stay clean (part of `npm run lint`): no import cycle, no package importing a service, no reaching
// into another package's files by a relative path, and every package an import names declared where it belongs:
// a workspace's src/ in its own `dependencies`; its tests in its own lists, or, for the repository-wide test
// tooling (vitest, fast-check, the oracles), in the root's devDependencies, but never another @llm workspace
// undeclared; top-level tests/, bench/ and scripts/ in the root's lists (the @llm workspaces are theirs to use).
// Imports are read by dependency-cruiser. docs/ARCHITECTURE.md's import graph (a Mermaid block under the
// GRAPH_MARKER line) must equal the one drawn from the imports; `--write-graph` redraws it.
// Usage: npx tsx scripts/check-imports.ts [--root DIR] [--write-graph]
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { cruise, type ICruiseResult, type IForbiddenRuleType } from "dependency-cruiser";

const { values } = parseArgs({
  options: { root: { type: "string", default: "." }, "write-graph": { type: "boolean" } },
});
const root = resolve(values.root);
process.chdir(root); // dependency-cruiser names modules relative to the working directory
const WORKSPACE = /^(packages|services)\/([^/]+)\//;
const ARCHITECTURE = "docs/ARCHITECTURE.md";
const GRAPH_MARKER = "<!-- import graph: drawn by `npx tsx scripts/check-imports.ts --write-graph` -->";

const rules: IForbiddenRuleType[] = [
  { name: "no-cycle", severity: "error", from: {}, to: { circular: true } },
  { name: "package-imports-service", severity: "error", from: { path: "^packages/" }, to: { path: "^services/" } },
  {
    name: "relative-import-into-another-workspace",
    severity: "error",
    from: { path: "^(packages|services)/([^/]+)/" },
    to: { dependencyTypes: ["local"], path: "^(packages|services)/", pathNot: "^$1/$2/" },
  },
];

const result = (
  await cruise(
    ["packages", "services", "tests", "bench", "scripts"].filter(existsSync),
    {
      ruleSet: { forbidden: rules },
      doNotFollow: { path: "node_modules" },
      exclude: { path: "^packages/proto/src/gen/" },
      tsPreCompilationDeps: true,
      tsConfig: { fileName: "tsconfig.json" },
      validate: true,
    },
    { conditionNames: ["import", "require", "node", "default", "types"], exportsFields: ["exports"] },
  )
).output as ICruiseResult;

const problems = result.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}${cycleOf(v.cycle)}`);
problems.push(...undeclared(result));
problems.push(...graphInDocs(mermaid(result), values["write-graph"] ?? false));
if (problems.length > 0) {
  console.error(`check-imports: ${problems.length} problem(s)\n${problems.map((p) => `  ${p}`).join("\n")}`);
  process.exit(1);
}
console.error(`check-imports: ${result.summary.totalCruised} modules, no cycle, every import declared`);

/** Compares (or rewrites) the Mermaid block that follows GRAPH_MARKER in docs/ARCHITECTURE.md. */
function graphInDocs(graph: string, write: boolean): string[] {
  if (!existsSync(ARCHITECTURE)) return [];
  const text = readFileSync(ARCHITECTURE, "utf8");
  const opening = `${GRAPH_MARKER}\n\`\`\`mermaid\n`;
  const start = text.indexOf(opening);
  const end = text.indexOf("```", start + opening.length);
  if (start < 0 || end < 0) return [`${ARCHITECTURE} has no mermaid block under the line ${GRAPH_MARKER}`];
  if (text.slice(start + opening.length, end) === `${graph}\n`) return [];
  if (!write) return [`${ARCHITECTURE}'s import graph differs from the imports: run with --write-graph`];
  writeFileSync(ARCHITECTURE, `${text.slice(0, start + opening.length)}${graph}\n${text.slice(end)}`);
  return [];
}

function cycleOf(cycle: { name: string }[] | undefined): string {
  return cycle ? ` (cycle: ${cycle.map((c) => c.name).join(" → ")})` : "";
}

/** Bare imports whose package the importing workspace (or the root, outside workspaces) does not declare. */
function undeclared(cruised: ICruiseResult): string[] {
  const manifests = new Map<string, { name: string; deps: Set<string>; devDeps: Set<string> }>();
  const manifest = (dir: string) => {
    let found = manifests.get(dir);
    if (!found) {
      const json = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
      found = {
        name: json.name,
        deps: new Set(Object.keys(json.dependencies ?? {})),
        devDeps: new Set(Object.keys(json.devDependencies ?? {})),
      };
      manifests.set(dir, found);
    }
    return found;
  };
  const rootManifest = manifest("");
  const allowed = (source: string, name: string): boolean => {
    const workspace = WORKSPACE.exec(source);
    if (!workspace) return name.startsWith("@llm/") || rootManifest.deps.has(name) || rootManifest.devDeps.has(name);
    const own = manifest(workspace[0]);
    if (name === own.name || own.deps.has(name)) return true;
    if (source.slice(workspace[0].length).startsWith("src/")) return false;
    return own.devDeps.has(name) || (!name.startsWith("@llm/") && rootManifest.devDeps.has(name));
  };
  const problems = new Set<string>();
  for (const module of cruised.modules) {
    for (const dep of module.dependencies) {
      const name = packageName(dep.module);
      if (name === undefined || allowed(module.source, name)) continue;
      const workspace = WORKSPACE.exec(module.source);
      problems.add(`undeclared: ${module.source} imports "${name}", not in ${workspace?.[0] ?? ""}package.json`);
    }
  }
  return [...problems];
}

/** "pkg" or "@scope/pkg" for a bare specifier; undefined for relative paths and Node's built-ins. */
function packageName(specifier: string): string | undefined {
  if (specifier.startsWith(".") || specifier.startsWith("/") || specifier.startsWith("node:")) return undefined;
  const parts = specifier.split("/");
  const name = specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
  return builtinModules.includes(name) ? undefined : name;
}

/** The workspaces' import graph (from src/ files), as a Mermaid flowchart: services above, packages below. */
function mermaid(cruised: ICruiseResult): string {
  const id = (match: RegExpExecArray) => `${match[1] === "services" ? "s" : "p"}_${match[2].replaceAll("-", "_")}`;
  const nodes = new Map<string, string>();
  const edges = new Set<string>();
  for (const module of cruised.modules) {
    const from = WORKSPACE.exec(module.source);
    if (!from || !module.source.slice(from[0].length).startsWith("src/")) continue;
    nodes.set(id(from), from[0]);
    for (const dep of module.dependencies) {
      const to = WORKSPACE.exec(dep.resolved);
      if (!to || to[0] === from[0]) continue;
      nodes.set(id(to), to[0]);
      edges.add(`  ${id(from)} --> ${id(to)}`);
    }
  }
  const group = (kind: string) => [
    `  subgraph ${kind}`,
    ...[...nodes]
      .filter(([, dir]) => dir.startsWith(`${kind}/`))
      .map(([node, dir]) => `    ${node}["${dir.split("/")[1]}"]`)
      .sort(),
    "  end",
  ];
  return ["flowchart TD", ...group("services"), ...group("packages"), ...[...edges].sort()].join("\n");
}
