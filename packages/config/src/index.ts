export type { Parser } from "./parsers.js";
export { type Config, describeConfig, type Env, readConfig, unknownConfigNames } from "./read-config.js";
export {
  type ConfigName,
  type ConfigValue,
  type ConfigVar,
  EXECUTION_PROVIDERS,
  LOG_LEVELS,
  REGISTRY,
} from "./registry.js";
