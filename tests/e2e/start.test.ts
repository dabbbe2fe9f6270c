// `npm start` as a newcomer runs it (the README's first command), and the `llm` CLI against the pipeline it starts.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ENDPOINTS_FILE } from "@llm/launcher";
import { WEIGHTS_DIR } from "@llm/model-pack";
import { afterEach, describe, expect, it } from "vitest";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SERVICES = ["tokenizer", "detokenizer", "sampler", "embedder", "model-runner", "gateway"];
/** Every distinct word (lowercased) of the text the bundled `demo` model was trained on. */
const CORPUS_WORDS = new Set(readFileSync(join(WEIGHTS_DIR, "demo", "words.txt"), "utf8").split("\n"));

interface Run {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const runs: Run[] = [];
const servicesSeen: number[] = [];
afterEach(() => {
  // A failed test must not leave a pipeline behind: each process group it started, and the services, which
  // `npm start` runs in groups of their own.
  for (const { child } of runs.splice(0)) if (child.exitCode === null && child.pid) kill(-child.pid, "SIGKILL");
  for (const pid of servicesSeen.splice(0)) kill(pid, "SIGKILL");
});

/** Runs a command in its own process group (as a terminal would), the environment cleared of gateway hints. */
function run(command: string, args: string[]): Run {
  const env = { ...process.env, LLM_GATEWAY_URL: "", FORCE_COLOR: "0" };
  const child = spawn(command, args, { cwd: REPO_ROOT, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const exited = once(child, "exit").then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  const started: Run = { child, stdout: () => stdout, stderr: () => stderr, exited };
  runs.push(started);
  return started;
}

/** `npx llm generate …` as the README says; `viaNpx: false` runs the same bin npx resolves to, without npm's startup. */
function llm(args: string[], viaNpx = false): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return llmCommand(["generate", ...args], viaNpx);
}

async function llmCommand(args: string[], viaNpx = false) {
  const cli = viaNpx ? run("npx", ["llm", ...args]) : run("node_modules/.bin/llm", args);
  const { code } = await cli.exited;
  return { code, stdout: cli.stdout(), stderr: cli.stderr() };
}

function kill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Every live process below `root` (from /proc), with its command line. */
function descendants(root: number): Map<number, string> {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // exited while we looked
    }
  }
  const found = new Map<number, string>();
  const below = (pid: number): boolean => {
    const parent = parentOf.get(pid);
    return parent === root || (parent !== undefined && parent > 1 && below(parent));
  };
  for (const pid of parentOf.keys()) {
    if (!below(pid)) continue;
    try {
      found.set(pid, readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " "));
    } catch {
      // exited while we looked
    }
  }
  return found;
}

function alive(pids: Iterable<number>): number[] {
  return [...pids].filter(
    (pid) => existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z "),
  );
}

/** The service processes under `root`: one per service, found by the entry file on their command line. */
function servicePids(root: number): Map<string, number> {
  const byService = new Map<string, number>();
  for (const [pid, cmdline] of descendants(root)) {
    const name = /services\/([a-z-]+)\/src\/main\.ts/.exec(cmdline)?.[1];
    if (name) byService.set(name, pid);
  }
  return byService;
}

/** Waits until `npm start` has announced every service, then records their processes. */
async function pipelineUp(start: Run, marker: string): Promise<Map<string, number>> {
  await expect.poll(start.stdout, { timeout: 150_000, interval: 100 }).toContain(marker);
  const pids = servicePids(start.child.pid as number);
  servicesSeen.push(...pids.values());
  return pids;
}

describe("npm start", () => {
  it('`npm start -- "Once upon a time" --exit` starts the six services, streams text, and exits cleanly', async () => {
    const start = run("npm", ["start", "--", "Once upon a time", "--exit"]);
    const pids = await pipelineUp(start, "logs ");
    expect([...pids.keys()].sort()).toEqual([...SERVICES].sort());
    const { code } = await start.exited;
    const out = start.stdout();
    expect(code, start.stderr()).toBe(0);
    for (const name of SERVICES) expect(out).toMatch(new RegExp(`^${name} +127\\.0\\.0\\.1:\\d+$`, "m"));
    const streamed = /\nOnce upon a time([\s\S]*)\n\[(length|eos); (\d+) tokens\]\n$/.exec(out);
    expect(streamed, out).not.toBeNull();
    const [, text, reason, tokens] = streamed as RegExpExecArray;
    if (reason === "length") expect(Number(tokens)).toBe(64);
    // The bundled model is trained: it writes English, most of its words the corpus's own (random weights: ~0).
    const words = text.toLowerCase().match(/[a-z]+/g) ?? [];
    expect(words.length, text).toBeGreaterThanOrEqual(20);
    expect(words.filter((word) => CORPUS_WORDS.has(word)).length / words.length, text).toBeGreaterThanOrEqual(0.8);
    expect(alive(pids.values())).toEqual([]);
    expect(existsSync(ENDPOINTS_FILE)).toBe(false); // the CLI will not find a pipeline that is gone
  }, 180_000);

  it("serves the `llm` CLI until Ctrl-C, then stops every service", async () => {
    const start = run("npm", ["start"]);
    const pids = await pipelineUp(start, "ready: ");
    const gateway = /^gateway +(\S+)$/m.exec(start.stdout())?.[1] as string;

    // The bundled embedding model answers /v1/embeddings out of the box and is listed beside the generation model.
    const http = JSON.parse(readFileSync(ENDPOINTS_FILE, "utf8"))["gateway-http"];
    const embedded = await fetch(`${http}/v1/embeddings`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "embed-tiny", input: ["Once upon a time", "in a land far away"] }),
    });
    expect(embedded.status).toBe(200);
    const vectors = (await embedded.json()) as { data: { embedding: number[] }[] };
    expect(vectors.data.map((d) => d.embedding.length)).toEqual([128, 128]);
    const models = (await (await fetch(`${http}/v1/models`)).json()) as { data: { id: string }[] };
    expect(models.data.map((m) => m.id)).toEqual(["demo", "embed-tiny"]);

    // --json: one object with the text, its ids, the usage and client-side latency.
    const json = await llm(["Once upon a time", "--max-tokens", "12", "--temperature", "0", "--json"], true);
    expect(json.code, json.stderr).toBe(0);
    const result = JSON.parse(json.stdout);
    expect(result).toMatchObject({ finishReason: "length", usage: { completionTokens: 12 } });
    expect(result.tokenIds).toHaveLength(12);
    expect(result.text.length).toBeGreaterThan(0);
    expect(result.latency.ttftMs).toBeGreaterThan(0);

    // `llm trace <id>`: that request's per-token latency from the runner (found through the endpoints file, or
    // --runner), one bar per inter-token gap with its engine step; an unknown id says so.
    const traced = await llmCommand(["trace", result.requestId], true);
    expect(traced.code, traced.stderr).toBe(0);
    expect(traced.stdout).toMatch(new RegExp(`^request ${result.requestId} · model demo · prompt 6 tokens`));
    expect(traced.stdout).toMatch(/12 generated · length\nat the runner: queued [\d.]+ ms · prefill [\d.]+ ms/);
    expect(traced.stdout).toMatch(/time to first token [\d.]+ ms · inter-token p50 [\d.]+ ms/);
    expect(traced.stdout.match(/^ +\d+ +[\d.]+ ms █+ +step \d+ · batch \d+ · [\d.]+ ms$/gm)).toHaveLength(11);
    const runner = JSON.parse(readFileSync(ENDPOINTS_FILE, "utf8"))["model-runner-metrics"];
    const asJson = await llmCommand(["trace", result.requestId, "--runner", runner, "--json"]);
    expect(asJson.code, asJson.stderr).toBe(0);
    const timings = JSON.parse(asJson.stdout);
    expect(timings.tokens.map((t: { tokenId: number }) => t.tokenId)).toEqual(result.tokenIds);
    const unknown = await llmCommand(["trace", "no-such-request"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^llm: not_found: the runner at \S+ has no request "no-such-request"/);

    // Found through `npm start`'s endpoints file above; --gateway names it explicitly. Greedy: the same text.
    const streamed = await llm(["Once upon a time", "--max-tokens", "12", "--temperature", "0", "--gateway", gateway]);
    expect(streamed.code, streamed.stderr).toBe(0);
    expect(streamed.stdout).toBe(`${result.text}\n`);
    expect(streamed.stderr).toMatch(/^\[length; 6 prompt \+ 12 generated tokens; request [0-9a-f-]{36}\]$/m);

    // Speculative decoding with the draft `npm start` loads beside demo: the same text; the trace shows the runs.
    const drafted = await llm([
      "Once upon a time",
      "--max-tokens",
      "12",
      "--temperature",
      "0",
      "--speculative",
      "draft",
      "--json",
    ]);
    expect(drafted.code, drafted.stderr).toBe(0);
    const draftedResult = JSON.parse(drafted.stdout);
    expect(draftedResult.text).toBe(result.text);
    const draftTrace = await llmCommand(["trace", draftedResult.requestId]);
    expect(draftTrace.stdout).toMatch(
      /^speculative: \d+ of \d+ proposed tokens accepted \(\d+%\) · \d+ multi-token steps/m,
    );
    const badMode = await llm(["hi", "--speculative", "fast", "--gateway", gateway]);
    expect(badMode.stderr).toMatch(/--speculative must be off, ngram or draft, got "fast"/);

    // --timings: time to first token, then one bar per inter-token gap.
    const timed = await llm(["Hello", "--max-tokens", "10", "--seed", "7", "--timings", "--gateway", gateway]);
    expect(timed.code, timed.stderr).toBe(0);
    expect(timed.stderr).toMatch(/time to first token [\d.]+ ms · inter-token p50 [\d.]+ ms/);
    expect(timed.stderr.match(/^ +\d+ +[\d.]+ ms █+$/gm)?.length ?? 0).toBeGreaterThan(0);

    // Mistakes: a clear message and a nonzero exit, from the CLI itself or from the gateway's validation.
    const typo = await llm(["hi", "--max-tokns", "5", "--gateway", gateway]);
    expect(typo.code).toBe(2); // a usage error
    expect(typo.stderr).toMatch(/^llm: Unknown option '--max-tokns'/);
    expect(typo.stderr).toMatch(/run `llm --help` for the options/);
    const notNumber = await llm(["hi", "--temperature", "hot", "--gateway", gateway]);
    expect(notNumber.code).not.toBe(0);
    expect(notNumber.stderr).toMatch(/--temperature must be a number, got "hot"/);
    const outOfRange = await llm(["hi", "--temperature", "3", "--gateway", gateway]);
    expect(outOfRange.code).not.toBe(0);
    expect(outOfRange.stderr).toMatch(/invalid_argument: .*temperature must be a number in \[0, 2\], got 3/);

    // Ctrl-C (the terminal signals the whole foreground process group) while a stream is in flight: the
    // gateway drains it before the back ends stop, so the client still gets every token.
    const inFlight = run("node_modules/.bin/llm", [
      "generate",
      "Once upon a time",
      "--max-tokens",
      "64",
      "--gateway",
      gateway,
    ]);
    await expect.poll(inFlight.stdout, { timeout: 60_000, interval: 20 }).not.toBe("");
    kill(-(start.child.pid as number), "SIGINT");
    expect((await inFlight.exited).code, inFlight.stderr()).toBe(0);
    expect(inFlight.stderr()).toMatch(/^\[length; 6 prompt \+ 64 generated tokens; /m);
    // npm re-raises the SIGINT on itself once its script is done; start.ts stops the services meanwhile.
    const { code, signal } = await start.exited;
    expect(code === 0 || signal === "SIGINT", `exit ${code} ${signal}\n${start.stderr()}`).toBe(true);
    await expect.poll(() => alive(pids.values()), { timeout: 30_000 }).toEqual([]);
    await expect.poll(() => existsSync(ENDPOINTS_FILE)).toBe(false);

    // With the pipeline gone the CLI says what to do.
    const gone = await llm(["hi", "--gateway", gateway]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/^llm: unavailable: .*\nis the gateway running\? `npm start` starts the pipeline/m);
  }, 240_000);
});
