import { familyParitySuite } from "./family-parity.js";

familyParitySuite("gemma3");
