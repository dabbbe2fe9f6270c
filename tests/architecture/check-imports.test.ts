// scripts/check-imports.ts (run by `npm run lint`) fails on each kind of violation, planted in a small tree.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, expect, test } from "vitest";

const SCRIPT = new URL("../../scripts/check-imports.ts", import.meta.url).pathname;
const root = mkdtempSync(join(tmpdir(), "check-imports-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function write(path: string, text: string): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
}

function check() {
  const run = spawnSync("npx", ["tsx", SCRIPT, "--root", root], { encoding: "utf8" });
  return { status: run.status, report: run.stderr };
}

test("a clean tree passes; a cycle, an undeclared package, a reach into another package and a package importing a service fail", () => {
  write("package.json", JSON.stringify({ name: "fixture", private: true, workspaces: ["packages/*", "services/*"] }));
  write("tsconfig.json", JSON.stringify({ compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext" } }));
  write("packages/a/package.json", JSON.stringify({ name: "@llm/a", dependencies: { "@llm/b": "*" } }));
  write("packages/a/src/index.ts", 'export * from "./one.js";\n');
  write("packages/a/src/one.ts", "export const one = 1;\n");
  write("packages/b/package.json", JSON.stringify({ name: "@llm/b" }));
  write("packages/b/src/index.ts", "export const b = 2;\n");
  write("services/s/package.json", JSON.stringify({ name: "@llm/s" }));
  write("services/s/src/main.ts", "export const s = 3;\n");
  expect(check()).toMatchObject({ status: 0 });

  write("packages/a/src/two.ts", 'import { one } from "./one.js";\nexport const two = one + 1;\n');
  write(
    "packages/a/src/one.ts",
    'import { two } from "./two.js";\nexport const one = 1;\nexport const alsoTwo = () => two;\n',
  );
  write("packages/b/src/use.ts", 'import { s } from "../../../services/s/src/main.js";\nexport const t = s;\n');
  write("packages/b/src/reach.ts", 'import { one } from "../../a/src/one.js";\nexport const r = one;\n');
  write("services/s/src/extra.ts", 'import Redis from "ioredis";\nexport const r = Redis;\n');
  const { status, report } = check();
  expect(status).toBe(1);
  expect(report).toMatch(/no-cycle: packages\/a\/src\/(one|two)\.ts/);
  expect(report).toContain("package-imports-service: packages/b/src/use.ts → services/s/src/main.ts");
  expect(report).toContain("relative-import-into-another-workspace: packages/b/src/reach.ts → packages/a/src/one.ts");
  expect(report).toContain('undeclared: services/s/src/extra.ts imports "ioredis", not in services/s/package.json');
});
