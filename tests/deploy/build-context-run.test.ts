// The build context holds everything the images run: the six services start from a copy of exactly the files
// .dockerignore lets through, with what the Dockerfile's build stage adds beside them (the installed packages,
// buf's generated code, the model baked by the model-pack CLI). A service that imported a test helper, a
// benchmark or a file the context leaves out would fail to start here, as it would in its container.
import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { type RunningService, startService } from "@llm/testing";
import { afterAll, beforeAll, expect, test } from "vitest";
import { buildContext, repositoryFiles } from "./build-context.js";
import { REPO_ROOT, SERVICES } from "./service-config.js";

const run = promisify(execFile);
const copy = mkdtempSync(join(tmpdir(), "llm-build-context-"));
const running = new Map<string, RunningService>();

/** What `npm ci` leaves: third-party packages (linked from this checkout), workspaces linked to the copy. */
function linkInstalledPackages(): void {
  const modules = join(REPO_ROOT, "node_modules");
  mkdirSync(join(copy, "node_modules/@llm"), { recursive: true });
  for (const entry of readdirSync(modules)) {
    if (entry !== "@llm") symlinkSync(join(modules, entry), join(copy, "node_modules", entry));
  }
  for (const workspace of readdirSync(join(modules, "@llm"))) {
    // npm links workspaces relatively (../../packages/x), so inside the copy they point at the copied sources.
    symlinkSync(readlinkSync(join(modules, "@llm", workspace)), join(copy, "node_modules/@llm", workspace));
  }
  for (const parent of ["packages", "services"]) {
    for (const workspace of readdirSync(join(copy, parent))) {
      const nested = join(REPO_ROOT, parent, workspace, "node_modules");
      if (existsSync(nested)) symlinkSync(nested, join(copy, parent, workspace, "node_modules"));
    }
  }
}

beforeAll(async () => {
  for (const path of buildContext(repositoryFiles())) {
    if (!existsSync(join(REPO_ROOT, path))) continue; // deleted in the working tree, not yet in git
    mkdirSync(dirname(join(copy, path)), { recursive: true });
    cpSync(join(REPO_ROOT, path), join(copy, path));
  }
  linkInstalledPackages();
  const generated = "packages/proto/src/gen"; // `npx buf generate` in the build stage
  cpSync(join(REPO_ROOT, generated), join(copy, generated), { recursive: true });
  // The build stage's model steps (MODEL_PRESET, EMBEDDING_PRESET), run from the copy.
  for (const preset of ["tiny", "embed-tiny"]) {
    await run(process.execPath, ["--import", "tsx", "packages/model-pack/src/cli.ts", "build", "--preset", preset], {
      cwd: copy,
    });
  }

  // The image's default bake is `tiny` (MODEL_PRESET); deployments name it, as compose and Kubernetes do.
  const env = { LLM_MODELS_DIR: join(copy, "models"), LLM_MODEL_ID: "tiny" };
  const start = async (service: string, extra: Record<string, string> = {}) => {
    const process = await startService(join(copy, "services", service, "src/main.ts"), {
      name: `${service} (build context)`,
      env: { ...env, ...extra },
      timeoutMs: 60_000,
    });
    running.set(service, process);
    return process.address;
  };
  await Promise.all([
    ...["tokenizer", "detokenizer", "sampler", "model-runner"].map((service) => start(service)),
    start("embedder", { LLM_MODEL_ID: "embed-tiny" }),
  ]);
  const address = (service: string) => running.get(service)?.address ?? "";
  await start("gateway", {
    LLM_TOKENIZER_URL: address("tokenizer"),
    LLM_DETOKENIZER_URL: address("detokenizer"),
    LLM_RUNNER_URL: address("model-runner"),
    LLM_EMBEDDER_URL: address("embedder"),
  });
}, 240_000);

afterAll(async () => {
  await Promise.all([...running.values()].map((service) => service.stop()));
  rmSync(copy, { recursive: true, force: true });
});

test("every service starts (health-gated) from the build context alone, serving the model baked there", () => {
  expect([...running.keys()].sort()).toEqual([...SERVICES].sort());
  expect(existsSync(join(copy, "tests"))).toBe(false);
  expect(existsSync(join(copy, "bench"))).toBe(false);
  expect(running.get("model-runner")?.stderr()).toContain(join(copy, "models", "tiny"));
  expect(running.get("embedder")?.stderr()).toContain(join(copy, "models", "embed-tiny"));
});
