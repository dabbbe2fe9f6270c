import { greedy } from "./strategies/greedy.js";
import { standard } from "./strategies/standard.js";
import { StrategyRegistry } from "./strategy.js";

/** A registry holding the built-in strategies; add operators' plugins to it with register(). */
export function createStrategyRegistry(): StrategyRegistry {
  return new StrategyRegistry().register("greedy", greedy).register("standard", standard);
}

/** The built-in strategies, for validating names where no custom registry is at hand. */
export const BUILTIN_STRATEGIES: Pick<StrategyRegistry, "has" | "names"> = createStrategyRegistry();
