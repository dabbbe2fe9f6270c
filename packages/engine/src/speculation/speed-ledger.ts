// Whether speculation pays at a batch size, measured rather than modelled: milliseconds per emitted token of the
// decode-only steps that verified proposals and of those that did not, by decode rows (exponentially weighted).
// Where verifying is slower, steps decode plainly; every EXPLORE_EVERY-th step at a batch size goes the other way
// (every EXPLORE_RARELY-th while the two figures are far apart: each such step costs the faster way's gain), so both
// figures stay current as the text, the load and the batch change. This catches every cost the policy's
// model does not price (sampling k + 1 rows, rollbacks, a batch split into more padding groups).

/** Weight of the latest step in a figure. */
const WEIGHT = 0.2;
/** One step in this many goes against the current choice, to keep measuring the other way… */
const EXPLORE_EVERY = 8;
/** …or in this many while one way is more than FAR faster than the other. */
const EXPLORE_RARELY = 64;
const FAR = 0.25;

interface Figures {
  plainMsPerToken?: number;
  speculativeMsPerToken?: number;
  steps: number;
}

export class SpeedLedger {
  private readonly byRows = new Map<number, Figures>();

  /** Whether a step of `rows` decode rows should verify proposals (called once per step that could). */
  speculate(rows: number): boolean {
    const figures = this.figures(rows);
    figures.steps++;
    const { plainMsPerToken: plain, speculativeMsPerToken: speculative } = figures;
    if (plain === undefined || speculative === undefined) return figures.steps % EXPLORE_EVERY !== 0;
    const paying = speculative <= plain;
    const far = Math.abs(speculative - plain) > FAR * Math.max(speculative, plain);
    return figures.steps % (far ? EXPLORE_RARELY : EXPLORE_EVERY) === 0 ? !paying : paying;
  }

  /** A decode-only step of `rows` rows took `ms` and emitted `tokens` tokens, verifying proposals or not. */
  observe(rows: number, speculated: boolean, ms: number, tokens: number): void {
    if (tokens === 0) return;
    const figures = this.figures(rows);
    const value = ms / tokens;
    if (speculated) figures.speculativeMsPerToken = blend(figures.speculativeMsPerToken, value);
    else figures.plainMsPerToken = blend(figures.plainMsPerToken, value);
  }

  private figures(rows: number): Figures {
    let figures = this.byRows.get(rows);
    if (!figures) {
      figures = { steps: 0 };
      this.byRows.set(rows, figures);
    }
    return figures;
  }
}

function blend(current: number | undefined, value: number): number {
  return current === undefined ? value : current + WEIGHT * (value - current);
}
