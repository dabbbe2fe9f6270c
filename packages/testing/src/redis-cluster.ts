// A real Redis Cluster for tests: three masters (native redis-server processes, no replicas) on free ports,
// joined with `redis-cli --cluster create`, ready once every node reports cluster_state:ok.
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort, startRedisServer } from "./redis.js";

const run = promisify(execFile);

export interface RedisClusterFixture {
  nodes: { host: string; port: number }[];
  /** The nodes as `redis://` URLs (LLM_REDIS_URL's form with LLM_REDIS_CLUSTER=true). */
  urls: string[];
  stop(): Promise<void>;
}

export async function startRedisCluster(masters = 3): Promise<RedisClusterFixture> {
  const dir = await mkdtemp(join(tmpdir(), "redis-cluster-"));
  const ports = await Promise.all(Array.from({ length: masters }, () => freePort()));
  const servers = await Promise.all(
    ports.map((port) =>
      startRedisServer(port, [
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        join(dir, `nodes-${port}.conf`),
        "--dir",
        dir,
      ]),
    ),
  );
  const stop = async () => {
    await Promise.all(servers.map((server) => server.stop()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const addresses = ports.map((port) => `127.0.0.1:${port}`);
    await run("redis-cli", ["--cluster", "create", ...addresses, "--cluster-replicas", "0", "--cluster-yes"]);
    const deadline = Date.now() + 20_000;
    for (const port of ports) {
      for (;;) {
        const { stdout } = await run("redis-cli", ["-p", String(port), "cluster", "info"]);
        if (stdout.includes("cluster_state:ok")) break;
        if (Date.now() > deadline) throw new Error(`Redis Cluster node ${port} not ok within 20 s`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    return {
      nodes: ports.map((port) => ({ host: "127.0.0.1", port })),
      urls: ports.map((port) => `redis://127.0.0.1:${port}`),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
