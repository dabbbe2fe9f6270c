import { familyParitySuite } from "./family-parity.js";

familyParitySuite("deepseek_v3");
