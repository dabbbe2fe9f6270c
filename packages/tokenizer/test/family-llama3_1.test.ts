import { familyParitySuite } from "./family-parity.js";

familyParitySuite("llama3_1");
