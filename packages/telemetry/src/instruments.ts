// OTel instruments built from the metric registry, so every service names and buckets a metric the same way.
// Create them after startTelemetry(): the metrics API has no proxy, instruments made earlier stay no-ops.
import { type Counter, type Histogram, type Meter, metrics } from "@opentelemetry/api";
import type { CounterSpec, GaugeSpec, HistogramSpec } from "./metric-names.js";

function meter(): Meter {
  return metrics.getMeter("@llm/telemetry");
}

export function histogram(spec: HistogramSpec): Histogram {
  return meter().createHistogram(spec.name, {
    unit: spec.unit,
    description: spec.description,
    advice: { explicitBucketBoundaries: [...spec.buckets] },
  });
}

export function counter(spec: CounterSpec): Counter {
  return meter().createCounter(spec.name, { unit: spec.unit, description: spec.description });
}

/** A counter whose running total is kept elsewhere (e.g. the prefix cache's own stats); read at each collection. */
export function observedCounter(spec: CounterSpec, read: () => number): void {
  meter()
    .createObservableCounter(spec.name, { unit: spec.unit, description: spec.description })
    .addCallback((result) => result.observe(read()));
}

export function observedGauge(spec: GaugeSpec, read: () => number): void {
  meter()
    .createObservableGauge(spec.name, { unit: spec.unit, description: spec.description })
    .addCallback((result) => result.observe(read()));
}
