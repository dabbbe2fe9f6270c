export * from "@llm/launcher";
export * from "./redis.js";
