export * from "@llm/launcher";
export * from "./dispatcher.js";
export * from "./failure.js";
export * from "./model-families.js";
export * from "./redis.js";
export * from "./redis-cluster.js";
export * from "./service-group.js";
export * from "./varied-texts.js";
