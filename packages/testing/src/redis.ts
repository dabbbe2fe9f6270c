// Redis for tests: a reachable one (LLM_TEST_REDIS_URL / REDIS_URL / 127.0.0.1:6379), else a native
// `redis-server` started on a free port (no Docker here, so no testcontainers).
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { Redis } from "ioredis";

export interface RedisFixture {
  url: string;
  /** Stops the server if this fixture started it; a reused server is left alone. */
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function pingRedis(url: string, timeoutMs = 1000): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on("error", () => {});
  try {
    await client.connect();
    return (await client.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

export async function startRedisServer(
  port?: number,
  /** More redis-server options (e.g. cluster mode). */
  extraArgs: string[] = [],
): Promise<{ url: string; process: ChildProcess; stop(): Promise<void> }> {
  const p = port ?? (await freePort());
  const child = spawn(
    "redis-server",
    ["--port", String(p), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", ...extraArgs],
    {
      stdio: "ignore",
    },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const spawnError = new Promise<never>((_, reject) =>
    child.once("error", (e) => reject(new Error(`cannot start redis-server (is it installed?): ${e.message}`))),
  );
  const url = `redis://127.0.0.1:${p}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (await Promise.race([pingRedis(url, 200), spawnError])) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`redis-server on port ${p} did not answer PING within 10 s`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    process: child,
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

/** A reachable Redis if there is one, else a fresh `redis-server` on a free port. */
export async function acquireRedis(env: NodeJS.ProcessEnv = process.env): Promise<RedisFixture> {
  for (const url of [env.LLM_TEST_REDIS_URL, env.REDIS_URL, "redis://127.0.0.1:6379"]) {
    if (url && (await pingRedis(url))) return { url, stop: async () => {} };
  }
  return startRedisServer();
}
