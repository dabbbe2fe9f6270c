export * from "./endpoints.js";
export * from "./service.js";
