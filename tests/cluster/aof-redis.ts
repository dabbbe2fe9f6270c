// A redis-server that keeps its data in an append-only file (as compose and the k8s base run it), restartable on its
// port with the same data: for Redis blips in the cluster tests.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, startRedisServer } from "@llm/testing";

export interface AofRedis {
  url: string;
  /** SIGTERM (redis-server shuts down, writing its AOF), then a new server on the port after `downMs`. */
  restart(downMs: number): Promise<void>;
  /** Stops the server and removes its files. */
  stop(): Promise<void>;
}

export async function aofRedis(): Promise<AofRedis> {
  const dir = mkdtempSync(join(tmpdir(), "llm-aof-"));
  const port = await freePort();
  let server: Awaited<ReturnType<typeof startRedisServer>> | undefined;
  const start = async () => {
    server = await startRedisServer(port, ["--appendonly", "yes", "--appendfsync", "everysec", "--dir", dir]);
    return server;
  };
  const { url } = await start();
  return {
    url,
    async restart(downMs) {
      await server?.stop();
      await new Promise((resolve) => setTimeout(resolve, downMs));
      await start();
    },
    async stop() {
      await server?.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
