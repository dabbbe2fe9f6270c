// A BullMQ worker on one of a model's queues, as runners and embedders both run it: at most `concurrency` jobs at
// once, each held by a lock that lasts `lockMs` unrenewed (a dead worker's jobs are taken over by another's
// stalled-job check), and a job whose lock could not be renewed is cancelled here rather than run on beside the
// worker that took it over.
import type { Log } from "@llm/log";
import type { RedisClient } from "@llm/redis";
import { type Processor, Worker } from "bullmq";
import { QUEUE_PREFIX } from "./keys.js";

export interface JobWorkerOptions {
  /** Jobs run at once. */
  concurrency: number;
  /** How long a job's lock lasts unrenewed: a dead worker's jobs are taken over after about this long. */
  lockMs: number;
  /** How often this worker looks for jobs whose worker died. */
  stalledIntervalMs: number;
  /** Takeovers a job may have before it fails (a job that kills every worker must not loop forever). */
  maxStalled: number;
  log: Log;
}

/** `processor` gets, as its third argument, a signal that aborts when this worker lost the job's lock. */
export function jobWorker<T>(
  queueName: string,
  processor: Processor<T>,
  connection: RedisClient,
  options: JobWorkerOptions,
): Worker<T> {
  const worker = new Worker<T>(queueName, processor, {
    connection,
    prefix: QUEUE_PREFIX,
    concurrency: options.concurrency,
    lockDuration: options.lockMs,
    stalledInterval: options.stalledIntervalMs,
    maxStalledCount: options.maxStalled,
  });
  worker.on("error", (err) => options.log({ level: "warn", msg: "queue worker error (it retries)", err }));
  // A worker that could not renew a lock (it was frozen or cut off past LLM_QUEUE_LOCK_MS) no longer holds the
  // job: another may have taken it over, so this copy stops instead of writing on beside it.
  worker.on("lockRenewalFailed", (jobIds) => {
    for (const id of jobIds) worker.cancelJob(id);
  });
  return worker;
}
