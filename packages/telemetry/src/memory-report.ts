// GET /memory on every service's metrics port: the process's memory, for leak tests and the soak benchmark.
import type { JsonRoute } from "./metrics-server.js";

export const MEMORY_REPORT_PATH = "/memory";

/** process.memoryUsage() in bytes, and whether a full garbage collection ran just before it was taken. */
export interface MemoryReport {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /**
   * True when the process runs with --expose-gc: the numbers are then live memory only, not garbage waiting for
   * a collection, so a test can bound growth tightly. Without it nothing is forced (serving is never paused).
   */
  collected: boolean;
}

export function memoryReport(): MemoryReport {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const { rss, heapTotal, heapUsed, external, arrayBuffers } = process.memoryUsage();
  return { rss, heapTotal, heapUsed, external, arrayBuffers, collected: gc !== undefined };
}

export const memoryRoute: JsonRoute = {
  prefix: MEMORY_REPORT_PATH,
  lookup: (rest) => (rest === "" ? memoryReport() : undefined),
};
