// A service as a real child process (for `npm start` and tests): `node --import tsx <entry>`, found through its `listening` line, health-gated.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { waitForServing } from "@llm/rpc";

export interface StartServiceOptions {
  /** Added to the parent's environment; LLM_PORT defaults to 0 (a free port). */
  env?: Record<string, string>;
  /** For error messages; defaults to the entry file. */
  name?: string;
  /** How long the child may take to print `listening` and report SERVING. */
  timeoutMs?: number;
  /** Sees every chunk the child writes to stderr (its JSON log lines), e.g. to show them to a person. */
  onStderr?: (chunk: string) => void;
  /**
   * Runs the child in its own process group, so a terminal's Ctrl-C (SIGINT to the foreground group) reaches
   * only the parent, which then stops its services in order (the gateway drains before the back ends stop).
   */
  ownProcessGroup?: boolean;
}

export interface RunningService {
  /** host:port from the child's first `listening` line. */
  address: string;
  /**
   * The address in the child's `listening` line for `service` (a process may serve more than one, e.g. the
   * gateway's "gateway-http"), or of its `metrics` line as "<service>-metrics" (the /metrics port, e.g.
   * "model-runner-metrics"); waits for the line, rejects if the child exits first.
   */
  listening(service: string): Promise<string>;
  process: ChildProcess;
  /** What the child wrote to stderr so far (its logs). */
  stderr(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with how the child exited. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const STDERR_KEPT = 64 * 1024;

export async function startService(entryFile: string, options: StartServiceOptions = {}): Promise<RunningService> {
  const { env = {}, name = entryFile, timeoutMs = 20_000, onStderr, ownProcessGroup = false } = options;
  // cwd at the repository root, so `--import tsx` and relative model paths resolve as under `npm start`.
  const child = spawn(process.execPath, ["--import", "tsx", entryFile], {
    cwd: REPO_ROOT,
    env: { ...process.env, LLM_PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: ownProcessGroup,
  });
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit); // Never leave an orphan behind if the test run dies.
  const exited = once(child, "exit").then(([code, signal]) => {
    process.off("exit", killOnExit);
    return { code: code as number | null, signal: signal as NodeJS.Signals | null };
  });

  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_KEPT);
    onStderr?.(chunk);
  });
  const fail = (why: string) => new Error(`${name}: ${why}\n--- stderr ---\n${stderr || "(empty)"}`);

  const announced = announcements(child);
  const running: RunningService = {
    address: "",
    listening: (service) =>
      Promise.race([
        announced.address(service),
        exited.then(() => Promise.reject(fail(`exited before announcing "${service}"`))),
      ]),
    process: child,
    stderr: () => stderr,
    async stop(graceMs = 5000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
        await exited.finally(() => clearTimeout(timer));
      }
      return exited;
    },
  };

  const deadline = Date.now() + timeoutMs;
  let timer: NodeJS.Timeout | undefined;
  try {
    running.address = await Promise.race([
      announced.first,
      exited.then(({ code, signal }) =>
        Promise.reject(fail(`exited (code ${code}, signal ${signal}) before listening`)),
      ),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(fail(`no "listening" line on stdout within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    await waitForServing(running.address, "", Math.max(deadline - Date.now(), 1)).catch((err: Error) => {
      throw fail(`listening on ${running.address} but not SERVING: ${err.message}`);
    });
    return running;
  } catch (err) {
    await running.stop(1000);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Every `{"event":"listening",service,address}` line of the child's stdout, and `{"event":"metrics",…}` lines as
 * "<service>-metrics"; other lines are ignored.
 */
function announcements(child: ChildProcess): { first: Promise<string>; address(service: string): Promise<string> } {
  const stdout = child.stdout;
  if (!stdout) throw new Error("child has no stdout pipe");
  const addresses = new Map<string, string>();
  const waiting = new Map<string, ((address: string) => void)[]>();
  let announceFirst: (address: string) => void = () => {};
  // stdout closing without the line never settles `first`: the caller's exit branch reports it.
  const first = new Promise<string>((resolve) => {
    announceFirst = resolve;
  });
  // Read to the end, so a chatty child never blocks on a full pipe.
  createInterface({ input: stdout }).on("line", (line) => {
    const event = parseJson(line);
    if (typeof event?.address !== "string" || (event.event !== "listening" && event.event !== "metrics")) return;
    if (event.event === "listening") announceFirst(event.address);
    const service = event.event === "metrics" ? `${String(event.service)}-metrics` : String(event.service);
    addresses.set(service, event.address);
    for (const resolve of waiting.get(service) ?? []) resolve(event.address);
    waiting.delete(service);
  });
  return {
    first,
    address: (service) =>
      new Promise((resolve) => {
        const known = addresses.get(service);
        if (known !== undefined) return resolve(known);
        waiting.set(service, [...(waiting.get(service) ?? []), resolve]);
      }),
  };
}

function parseJson(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
