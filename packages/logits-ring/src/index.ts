export { type RingGeometry, type RingLocation, WRITING } from "./layout.js";
export { RingReader } from "./reader.js";
export { RingWriter } from "./writer.js";
