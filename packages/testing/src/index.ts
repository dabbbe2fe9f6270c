export * from "./redis.js";
export * from "./service.js";
