import { familyParitySuite } from "./family-parity.js";

familyParitySuite("llama2");
