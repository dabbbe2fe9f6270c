// What the model's decode forward costs as a function of the positions it computes, learned from the steps the
// engine runs (time ≈ fixed + per-position × positions, fitted by exponentially weighted least squares), so the
// policy can price a proposal's verify row on this hardware, at this batch size, under this load.

/** Weight of the latest step: about the last 50 steps count. */
const WEIGHT = 0.02;

export class StepCost {
  private n = 0;
  private sx = 0;
  private sy = 0;
  private sxx = 0;
  private sxy = 0;

  /** A decode forward computed `positions` positions (rows × tokens each) in `ms`. */
  observe(positions: number, ms: number): void {
    const keep = 1 - WEIGHT;
    this.n = this.n * keep + 1;
    this.sx = this.sx * keep + positions;
    this.sy = this.sy * keep + ms;
    this.sxx = this.sxx * keep + positions * positions;
    this.sxy = this.sxy * keep + positions * ms;
  }

  /**
   * One more position's share of a plain step of `rows` rows: near 0 where a step's fixed costs dominate (small
   * batches on a CPU, any batch on a big GPU), near 1/rows where compute grows with positions. 0 until steps of
   * two sizes were seen (speculation starts optimistic: its own verify steps teach the slope).
   */
  perPosition(rows: number): number {
    const plain = this.plainStepMs(rows);
    return plain === undefined ? 0 : this.slope() / plain;
  }

  /** The fitted time of a plain step of `rows` rows (ms); undefined before any step. */
  plainStepMs(rows: number): number | undefined {
    if (this.n === 0) return undefined;
    const slope = this.slope();
    const intercept = (this.sy - slope * this.sx) / this.n;
    return Math.max(1e-6, intercept + slope * rows);
  }

  /** ms per position; 0 while every step seen computed about as many positions. */
  private slope(): number {
    const spread = this.n * this.sxx - this.sx * this.sx;
    if (this.n < 2 || spread <= 1e-9 * this.n * this.sxx) return 0;
    return Math.max(0, (this.n * this.sxy - this.sx * this.sy) / spread);
  }
}
