// Whether speculation pays at a batch size, measured rather than modelled: milliseconds per emitted token of the
// decode-only steps that verified proposals (by decode rows and proposers) and of those that did not (by decode
// rows), exponentially weighted.
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

/** Verifying steps' figures for one batch size and mix of proposers. */
interface Figures {
  msPerToken?: number;
  steps: number;
}

export class SpeedLedger {
  /** Plain steps' ms per token by decode rows: the same whatever the rows would have proposed with. */
  private readonly plain = new Map<number, number>();
  /** Verifying steps' figures by rows and proposers: a draft that pays must not be judged by n-gram steps that do not. */
  private readonly verifying = new Map<string, Figures>();

  /**
   * Whether a step of `rows` decode rows should verify proposals (called once per step that could); `proposers`
   * names the mix of proposers of its speculating rows ("draft", "ngram", "draft+ngram").
   */
  speculate(rows: number, proposers: string): boolean {
    const figures = this.figures(rows, proposers);
    figures.steps++;
    const plain = this.plain.get(rows);
    const speculative = figures.msPerToken;
    if (plain === undefined || speculative === undefined) return figures.steps % EXPLORE_EVERY !== 0;
    const paying = speculative <= plain;
    const far = Math.abs(speculative - plain) > FAR * Math.max(speculative, plain);
    return figures.steps % (far ? EXPLORE_RARELY : EXPLORE_EVERY) === 0 ? !paying : paying;
  }

  /** A decode-only step of `rows` rows took `ms` and emitted `tokens` tokens, verifying proposals or not. */
  observe(rows: number, proposers: string, speculated: boolean, ms: number, tokens: number): void {
    if (tokens === 0) return;
    const value = ms / tokens;
    if (!speculated) this.plain.set(rows, blend(this.plain.get(rows), value));
    else {
      const figures = this.figures(rows, proposers);
      figures.msPerToken = blend(figures.msPerToken, value);
    }
  }

  private figures(rows: number, proposers: string): Figures {
    const key = `${rows} ${proposers}`;
    let figures = this.verifying.get(key);
    if (!figures) {
      figures = { steps: 0 };
      this.verifying.set(key, figures);
    }
    return figures;
  }
}

function blend(current: number | undefined, value: number): number {
  return current === undefined ? value : current + WEIGHT * (value - current);
}
