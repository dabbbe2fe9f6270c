/** Which stop sequence ended the text, and where. */
export interface StopMatch {
  /** The stop sequence that matched. */
  sequence: string;
  /** Its position in the `stop` list given to the constructor. */
  index: number;
  /** Offset (UTF-16 code units) in the whole output text where the match starts; the output ends there. */
  offset: number;
}

export interface StopStep {
  /** Text that is final: no stop sequence can start inside it. */
  text: string;
  stopped?: StopMatch;
}

/**
 * Finds stop sequences in text that arrives in pieces, with the same result for every way
 * of cutting the text: the output ends at the EARLIEST position where any stop sequence
 * starts; when several start there, the shortest wins (it is complete first, and the
 * output is the same either way); equal strings report the lowest list index. To make that
 * hold across cuts it keeps back text that could be the start of a stop sequence, and it
 * does not report a complete match while an earlier-starting one could still complete.
 */
export class StopMatcher {
  private pending = "";
  /** Offset of `pending` in the whole text. */
  private pendingOffset = 0;
  private readonly longest: number;
  /** First UTF-16 unit of each stop sequence: most positions can be ruled out by this alone. */
  private readonly firstUnits: ReadonlySet<number>;

  constructor(private readonly stops: readonly string[]) {
    this.longest = Math.max(0, ...stops.map((stop) => stop.length));
    this.firstUnits = new Set(stops.map((stop) => stop.charCodeAt(0)));
  }

  /** Adds text; `final` says no more text follows, so partial matches can be let go. */
  feed(text: string, final: boolean): StopStep {
    const known = this.pending + text;
    const match = this.earliestMatch(known);
    const open = final ? undefined : this.earliestPartialMatch(known);
    if (match !== undefined && (open === undefined || match.start <= open)) {
      const step: StopStep = {
        text: known.slice(0, match.start),
        stopped: { sequence: this.stops[match.index], index: match.index, offset: this.pendingOffset + match.start },
      };
      this.pending = "";
      return step;
    }
    const emitEnd = open ?? known.length;
    this.pending = known.slice(emitEnd);
    this.pendingOffset += emitEnd;
    return { text: known.slice(0, emitEnd) };
  }

  private earliestMatch(text: string): { start: number; index: number } | undefined {
    let best: { start: number; index: number } | undefined;
    for (let index = 0; index < this.stops.length; index++) {
      const start = text.indexOf(this.stops[index]);
      if (start < 0) continue;
      const earlier = best === undefined || start < best.start;
      const shorterAtSameStart =
        best !== undefined && start === best.start && this.stops[index].length < this.stops[best.index].length;
      if (earlier || shorterAtSameStart) best = { start, index };
    }
    return best;
  }

  /** Start of the longest suffix of `text` that is a proper prefix of some stop sequence. */
  private earliestPartialMatch(text: string): number | undefined {
    for (let start = Math.max(0, text.length - this.longest + 1); start < text.length; start++) {
      if (!this.firstUnits.has(text.charCodeAt(start))) continue;
      const suffixLength = text.length - start;
      for (const stop of this.stops) {
        if (suffixLength < stop.length && stop.startsWith(text.slice(start))) return start;
      }
    }
    return undefined;
  }
}
