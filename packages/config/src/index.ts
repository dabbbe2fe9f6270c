export type { Parser } from "./parsers.js";
export {
  type Config,
  describeConfig,
  type Env,
  readConfig,
  refuseUnknownConfigNames,
  unknownConfigNames,
} from "./read-config.js";
export {
  type ConfigName,
  type ConfigValue,
  type ConfigVar,
  EXECUTION_PROVIDERS,
  REGISTRY,
} from "./registry.js";
