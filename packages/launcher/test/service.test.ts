import { fileURLToPath } from "node:url";
import { TokenizerService } from "@llm/proto";
import { checkHealth, createClient } from "@llm/rpc";
import { describe, expect, it } from "vitest";
import { startService } from "../src/index.js";

const ENTRY = fileURLToPath(new URL("./fixtures/tokenizer-server.ts", import.meta.url));

describe("startService", () => {
  it("runs a service as a child process on a free port, health-gated, and stops it gracefully", async () => {
    const service = await startService(ENTRY, { name: "test-tokenizer" });
    try {
      expect(service.address).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(service.process.pid).not.toBe(process.pid);
      expect(await checkHealth(service.address)).toBe("SERVING");
      const client = createClient(TokenizerService, service.address);
      try {
        expect(await client.countTokens({ text: "four" })).toMatchObject({ count: 4 });
      } finally {
        client.close();
      }
    } finally {
      // SIGTERM → server drains → exit code 0 (a SIGKILL would show as signal, not code 0).
      expect(await service.stop()).toEqual({ code: 0, signal: null });
    }
    expect(service.stderr()).toContain('"msg":"shutting down"');
  });

  it("finds announced addresses by service name; a wait for one never announced ends when the child exits", async () => {
    const service = await startService(ENTRY, { name: "announcer" });
    expect(await service.listening("test-tokenizer")).toBe(service.address);
    const never = service.listening("gateway-http");
    await service.stop();
    await expect(never).rejects.toThrow(/announcer: exited before announcing "gateway-http"/);
  });

  it("reports a child that dies before listening, with its stderr", async () => {
    await expect(startService(ENTRY, { name: "bad-port", env: { LLM_PORT: "not-a-port" } })).rejects.toThrow(
      /bad-port: exited \(code 1, signal null\) before listening[\s\S]*--- stderr ---[\s\S]*LLM_PORT="not-a-port": expected an integer/,
    );
  });

  it("refuses to start with an LLM_* variable the registry does not know, naming it", async () => {
    await expect(startService(ENTRY, { name: "typo", env: { LLM_SHUTDOWN_GRACE: "5" } })).rejects.toThrow(
      /typo: exited \(code 1, signal null\) before listening[\s\S]*unknown configuration variable LLM_SHUTDOWN_GRACE: not in the registry/,
    );
  });

  it("gives up after timeoutMs and kills the child", async () => {
    const started = Date.now();
    await expect(startService(ENTRY, { name: "slow", timeoutMs: 1 })).rejects.toThrow(/slow: no "listening" line/);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
