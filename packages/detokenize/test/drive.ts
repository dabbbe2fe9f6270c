// Test helper: runs a detokenizer over ids cut into pushes, checking the streaming invariants on the way.
import { Detokenizer, type DetokenizerOptions, type StopMatch, type TokenBytesSource } from "../src/index.js";

export interface DriveResult {
  /** Text of every push, then of the flush. */
  deltas: string[];
  text: string;
  stopped?: StopMatch;
}

/** Pushes `ids` in consecutive pieces of the given sizes (the rest in one last piece), then flushes. */
export function drive(
  source: TokenBytesSource,
  ids: readonly number[],
  pieceSizes: readonly number[],
  options?: DetokenizerOptions,
): DriveResult {
  const detokenizer = new Detokenizer(source, options);
  const deltas: string[] = [];
  let start = 0;
  for (const size of pieceSizes) {
    if (start >= ids.length) break;
    deltas.push(detokenizer.push(ids.slice(start, start + size)).text);
    start += size;
  }
  if (start < ids.length) deltas.push(detokenizer.push(ids.slice(start)).text);
  const last = detokenizer.flush();
  deltas.push(last.text);
  return { deltas, text: deltas.join(""), stopped: last.stopped };
}

/** Sizes of one-token pushes. */
export function oneByOne(ids: readonly number[]): number[] {
  return ids.map(() => 1);
}
