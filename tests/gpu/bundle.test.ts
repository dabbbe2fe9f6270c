// The GPU check bundle cannot rot: it builds here within its size limit, and its run.sh runs the bundled checks
// on this machine's CPU (--dry-run: tiny model), with its own Node.js binary and no node_modules.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";

const ROOT = new URL("../../", import.meta.url).pathname;
const LIMIT_BYTES = 60 * 1024 ** 2;
const dir = mkdtempSync(join(tmpdir(), "gpu-bundle-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("npm run gpu:bundle", () => {
  test("builds a bundle under 60 MiB whose dry run passes every check on the CPU", { timeout: 300_000 }, () => {
    const bundle = join(dir, "bundle");
    execFileSync("npx", ["tsx", "bench/gpu/bundle.ts", "--out", bundle], { cwd: ROOT, stdio: "pipe" });
    const manifest = JSON.parse(readFileSync(join(bundle, "MANIFEST.json"), "utf8"));
    expect(manifest.sizeBytes).toBeLessThanOrEqual(LIMIT_BYTES);
    expect(manifest.node).toBe(process.version);

    // No PATH: nothing of this machine's Node.js or the repository's node_modules can stand in for the bundle's.
    const out = join(dir, "out");
    execFileSync("/bin/bash", [join(bundle, "run.sh"), out, "--dry-run"], {
      cwd: dir,
      stdio: "pipe",
      env: { PATH: "/usr/bin:/bin:/usr/sbin:/sbin", HOME: dir },
    });
    const results = JSON.parse(readFileSync(join(out, "results.json"), "utf8"));
    expect(results.skipped).toEqual([]);
    expect(results.machine.node).toBe(process.version);
    const cpu = results.providers.find((p: { provider: string }) => p.provider === "cpu");
    expect(cpu.started).toBe(true);
    // Absent GPU providers are reported with ORT's reason, not hidden.
    for (const probe of results.providers.filter((p: { provider: string }) => p.provider !== "cpu"))
      expect(probe.started || probe.error.length > 0).toBe(true);
    expect(results.parity).toEqual(
      ["tiny", "llama-tiny"].map((preset) =>
        expect.objectContaining({ preset, device: "cpu", sameArgmax: true, identicalSequences: 4 }),
      ),
    );
    const [speed] = results.speed;
    expect(speed.raw.map((r: { batch: number }) => r.batch)).toEqual([1, 8]);
    expect(speed.engine.every((r: { decodeTokensPerSecond: number }) => r.decodeTokensPerSecond > 0)).toBe(true);
    expect(speed.ttft[0].ttftMs).toBeGreaterThan(0);
  });
});
