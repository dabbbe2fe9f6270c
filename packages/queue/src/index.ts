export * from "./cluster-dispatcher.js";
export * from "./connection.js";
export * from "./dispatch-worker.js";
export * from "./job.js";
export * from "./keys.js";
export * from "./kv-route.js";
export * from "./model-catalog.js";
export * from "./stream-entries.js";
export type { StreamLifetimes } from "./token-stream-writer.js";
