// The gateway's per-request metrics (design §6): time to first token and inter-token latency as the gateway
// has tokens decoded and ready to send (the closest point to what its client sees), whole-request duration, and requests by status. Shared by gRPC and HTTP (both go through
// generate()). Instruments are made lazily, after main.ts started telemetry.
import { counter, histogram, METRICS } from "@llm/telemetry";

let instruments:
  | {
      firstToken: ReturnType<typeof histogram>;
      interToken: ReturnType<typeof histogram>;
      duration: ReturnType<typeof histogram>;
      requests: ReturnType<typeof counter>;
    }
  | undefined;

function metrics() {
  instruments ??= {
    firstToken: histogram(METRICS.timeToFirstToken),
    interToken: histogram(METRICS.interTokenLatency),
    duration: histogram(METRICS.requestDuration),
    requests: counter(METRICS.requests),
  };
  return instruments;
}

/** One request's timings, from its receipt at the gateway. */
export class RequestMetrics {
  private readonly startedAt = performance.now();
  private lastTokenAt: number | undefined;

  token(): void {
    const now = performance.now();
    const { firstToken, interToken } = metrics();
    if (this.lastTokenAt === undefined) firstToken.record((now - this.startedAt) / 1000);
    else interToken.record((now - this.lastTokenAt) / 1000);
    this.lastTokenAt = now;
  }

  /** `status`: "ok" or the error code. */
  end(status: string): void {
    const { duration, requests } = metrics();
    duration.record((performance.now() - this.startedAt) / 1000);
    requests.add(1, { status });
  }
}
