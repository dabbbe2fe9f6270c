// The terminal view of per-token latency: time to first token, then one bar per token's gap.
import type { TokenArrival } from "./generate.js";

export interface LatencySummary {
  ttftMs: number;
  /** Gaps between consecutive tokens (a delta carrying n tokens counts as n tokens sharing its gap). */
  interTokenMs: number[];
  p50Ms: number;
  p99Ms: number;
  tokensPerSecond: number;
}

export function summarize(arrivals: readonly TokenArrival[]): LatencySummary {
  const gaps: number[] = [];
  for (let i = 1; i < arrivals.length; i++) {
    const { atMs, tokens } = arrivals[i];
    const gap = (atMs - arrivals[i - 1].atMs) / tokens;
    for (let t = 0; t < tokens; t++) gaps.push(gap);
  }
  const sorted = [...gaps].sort((a, b) => a - b);
  const tokens = arrivals.reduce((n, a) => n + a.tokens, 0);
  const first = arrivals[0]?.atMs ?? 0;
  const last = arrivals.at(-1)?.atMs ?? 0;
  return {
    ttftMs: first,
    interTokenMs: gaps,
    p50Ms: quantile(sorted, 0.5),
    p99Ms: quantile(sorted, 0.99),
    tokensPerSecond: last > first ? ((tokens - 1) * 1000) / (last - first) : 0,
  };
}

export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

const BAR_WIDTH = 50;

/** A bar chart of every inter-token gap, scaled to the slowest, with the summary on top; `notes[i]` after gap i's bar. */
export function renderTimings(summary: LatencySummary, notes: readonly string[] = []): string {
  const lines = [
    `time to first token ${summary.ttftMs.toFixed(1)} ms · inter-token p50 ${summary.p50Ms.toFixed(2)} ms · ` +
      `p99 ${summary.p99Ms.toFixed(2)} ms · ${summary.tokensPerSecond.toFixed(1)} tokens/s`,
  ];
  const slowest = Math.max(...summary.interTokenMs, 1e-9);
  summary.interTokenMs.forEach((gap, i) => {
    const bar = "█".repeat(Math.max(1, Math.round((gap / slowest) * BAR_WIDTH)));
    const note = notes[i] === undefined ? "" : ` ${" ".repeat(BAR_WIDTH - bar.length)}${notes[i]}`;
    lines.push(`${String(i + 2).padStart(5)} ${gap.toFixed(2).padStart(8)} ms ${bar}${note}`);
  });
  return lines.join("\n");
}
