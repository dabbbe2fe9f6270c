import { familyParitySuite } from "./family-parity.js";

familyParitySuite("qwen3");
