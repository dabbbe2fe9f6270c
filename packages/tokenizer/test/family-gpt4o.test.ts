import { familyParitySuite } from "./family-parity.js";

familyParitySuite("gpt4o");
