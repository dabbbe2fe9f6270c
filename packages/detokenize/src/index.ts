export {
  Detokenizer,
  type DetokenizerOptions,
  type DetokenizeStep,
  type TokenBytesSource,
} from "./detokenizer.js";
export type { StopMatch } from "./stop-matcher.js";
export { DEFAULT_STOP_LIMITS, type StopLimits } from "./stop-options.js";
