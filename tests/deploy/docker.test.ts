// infra/docker/Dockerfile through the dockerfile-utils linter (the one behind VS Code's Docker support; runs
// offline), the project's image rules, and .dockerignore applied with Docker's matching rules to this tree.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ValidationSeverity, validate } from "dockerfile-utils";
import { expect, test } from "vitest";
import { buildContext, repositoryFiles } from "./build-context.js";
import { REPO_ROOT, SERVICES } from "./service-config.js";

const DOCKERFILE = readFileSync(join(REPO_ROOT, "infra/docker/Dockerfile"), "utf8");

interface Stage {
  name: string;
  base: string;
  instructions: { keyword: string; args: string }[];
}

/** The Dockerfile's stages, continuation lines joined, ARG defaults substituted into FROM. */
function stages(text: string): Stage[] {
  const lines = text
    .replace(/\\\n/g, " ")
    .split("\n")
    .filter((line) => line.trim() && !line.trim().startsWith("#"));
  const args = new Map<string, string>();
  const result: Stage[] = [];
  for (const line of lines) {
    const [, keyword = "", rest = ""] = /^\s*(\w+)\s+(.*)$/.exec(line) ?? [];
    const upper = keyword.toUpperCase();
    if (upper === "FROM") {
      const [image = "", , name = ""] = rest.split(/\s+/);
      result.push({ name, base: image.replace(/\$\{(\w+)\}/g, (_, arg) => args.get(arg) ?? ""), instructions: [] });
    } else if (upper === "ARG" && result.length === 0) {
      const [name = "", value = ""] = rest.split("=");
      args.set(name, value);
    } else result.at(-1)?.instructions.push({ keyword: upper, args: rest });
  }
  return result;
}

/** A stage's instructions including those of the stages it builds on, oldest first. */
function lineage(all: Stage[], stage: Stage): Stage["instructions"] {
  const parent = all.find((s) => s.name === stage.base);
  return [...(parent ? lineage(all, parent) : []), ...stage.instructions];
}

test("the linter finds nothing, with every optional rule raised to an error", () => {
  const all = ValidationSeverity.ERROR;
  const problems = validate(DOCKERFILE, {
    deprecatedMaintainer: all,
    directiveCasing: all,
    emptyContinuationLine: all,
    instructionCasing: all,
    instructionCmdMultiple: all,
    instructionEntrypointMultiple: all,
    instructionHealthcheckMultiple: all,
    instructionJSONInSingleQuotes: all,
    instructionWorkdirRelative: all,
  });
  expect(problems.map((p) => `line ${p.range.start.line + 1}: ${p.message}`)).toEqual([]);
  expect(validate("FROM node:20\nEXPOSE port\n").length).toBeGreaterThan(0); // the linter is not a no-op
});

test("every base image is pinned to a release; every service has a non-root target with a health check", () => {
  const all = stages(DOCKERFILE);
  for (const { base } of all.filter((s) => !all.some((other) => other.name === s.base))) {
    expect(base).toMatch(/^[\w./-]+:[\w.-]*\d+\.\d+\.\d+[\w.-]*$/);
  }
  for (const target of [...SERVICES, "model-runner-gpu"]) {
    const stage = all.find((s) => s.name === target);
    expect(stage, target).toBeDefined();
    const instructions = lineage(all, stage as Stage);
    const last = (keyword: string) => instructions.filter((i) => i.keyword === keyword).at(-1)?.args;
    expect(last("USER"), target).toMatch(/^[1-9]\d*$/); // numeric, so Kubernetes can verify runAsNonRoot
    expect(last("HEALTHCHECK"), target).toContain("scripts/health-probe.ts");
    const entry = JSON.parse(last("CMD") ?? "[]")[0] as string;
    expect(entry).toBe(`services/${target.replace(/-gpu$/, "")}/src/main.ts`);
    expect(existsSync(join(REPO_ROOT, entry))).toBe(true);
  }
  expect(DOCKERFILE).toMatch(/ENV ONNXRUNTIME_NODE_INSTALL=skip\s*\nCOPY . .\s*\nRUN npm ci/);
  expect(DOCKERFILE).toContain("ONNXRUNTIME_NODE_INSTALL=cuda12");
});

test("the build context leaves out tests, benchmarks, model builds and installs, and keeps what images run", () => {
  const tracked = repositoryFiles();
  const local = ["models/tiny/onnx/model.onnx", "node_modules/yaml/package.json", "packages/rpc/node_modules/x.js"];
  const context = buildContext([...tracked, ...local]);
  for (const path of context) {
    expect(path).not.toMatch(/^(tests|bench|models|\.cache|\.git)\/|(^|\/)(test|node_modules)\/|\.test\.ts$/);
  }
  const needed = [
    "package.json",
    "package-lock.json",
    ".npmrc",
    "buf.yaml",
    "buf.gen.yaml",
    "scripts/health-probe.ts",
    ...tracked.filter((path) => /^(proto|packages\/[^/]+\/src|services\/[^/]+\/src)\//.test(path)),
    ...tracked.filter((path) => /^(packages|services)\/[^/]+\/package\.json$/.test(path)),
  ];
  for (const path of needed) expect(context, path).toContain(path);
});
