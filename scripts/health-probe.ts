// Container health check: asks the service in this container (grpc.health.v1 Check on 127.0.0.1:$LLM_PORT, or
// the address given as the first argument) and exits 0 when it is SERVING, 1 otherwise with the reason on stderr.
//   node --import tsx scripts/health-probe.ts [host:port] [service]
import { checkHealth } from "@llm/rpc";

const [addressArg, service = ""] = process.argv.slice(2);
const port = process.env.LLM_PORT;
const address = addressArg ?? (port && port !== "0" ? `127.0.0.1:${port}` : undefined);

try {
  if (!address) throw new Error("no address: pass host:port or set LLM_PORT to the service's fixed port");
  const status = await checkHealth(address, service, 3000);
  if (status !== "SERVING") throw new Error(`status ${status}`);
} catch (error) {
  process.stderr.write(`health probe ${address ?? ""}: not healthy: ${(error as Error).message}\n`);
  process.exit(1);
}
