// The compile time limit. XGrammar compiles synchronously on the thread that calls it, so a pathological
// grammar compiled on the step loop's thread would stall every sequence of the runner. A cache miss is
// therefore first compiled in a worker thread under a deadline; only a grammar that compiled in time is
// compiled again on the loop's thread (bounded by the same time), and a worker past its deadline is
// terminated and replaced.
import { Worker } from "node:worker_threads";
import { LlmError } from "@llm/errors";
import type { Constraint } from "./grammar-source.js";
import type { GrammarVocabulary } from "./vocabulary.js";

interface ProbeReply {
  id: number;
  error?: string;
}

export class CompileProbe {
  private worker: Worker | undefined;
  /** Settles once the worker has loaded XGrammar and the vocabulary: the deadline covers compiling only. */
  private ready: Promise<void> | undefined;
  private nextId = 0;
  private readonly waiting = new Map<number, (reply: ProbeReply) => void>();

  constructor(
    private readonly vocabulary: GrammarVocabulary,
    private readonly timeoutMs: number,
  ) {}

  /** Resolves when `spec` compiles within the limit; rejects with invalid_argument otherwise. */
  async check(spec: Constraint): Promise<void> {
    const worker = this.start();
    await this.ready;
    const id = this.nextId++;
    const reply = await new Promise<ProbeReply | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), this.timeoutMs);
      this.waiting.set(id, (message) => {
        clearTimeout(timer);
        resolve(message);
      });
      worker.postMessage({ id, spec });
    });
    this.waiting.delete(id);
    if (reply === undefined) {
      this.stop(`a ${spec.case} constraint took longer than ${this.timeoutMs} ms to compile`);
      throw new LlmError(
        "invalid_argument",
        `constraint (${spec.case}) did not compile within ${this.timeoutMs} ms: simplify the schema or grammar`,
        { details: { field: "constraint" } },
      );
    }
    if (reply.error !== undefined) {
      throw new LlmError("invalid_argument", `constraint (${spec.case}) cannot be compiled: ${reply.error}`, {
        details: { field: "constraint" },
      });
    }
  }

  close(): void {
    this.stop("the compiler closed");
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    // The worker is TypeScript like the rest of the process: it registers tsx's loader, then imports it.
    const tsx = JSON.stringify(import.meta.resolve("tsx/esm/api"));
    const entry = JSON.stringify(new URL("./compile-probe-worker.ts", import.meta.url).href);
    const worker = new Worker(`import(${tsx}).then((tsx) => { tsx.register(); return import(${entry}); })`, {
      eval: true,
      workerData: this.vocabulary,
    });
    worker.unref();
    this.ready = new Promise((resolve) => worker.once("message", () => resolve()));
    worker.on("message", (reply: ProbeReply) => this.waiting.get(reply.id)?.(reply));
    worker.on("error", (err) => this.stop(`the compile worker failed: ${err.message}`));
    worker.on("exit", () => {
      if (this.worker === worker) this.stop("the compile worker exited");
    });
    this.worker = worker;
    return worker;
  }

  /** Terminates the worker; checks in flight on it fail with `reason`. */
  private stop(reason: string): void {
    const worker = this.worker;
    this.worker = undefined;
    for (const [id, resolve] of this.waiting) resolve({ id, error: reason });
    this.waiting.clear();
    void worker?.terminate();
  }
}
