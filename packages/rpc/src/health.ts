// grpc.health.v1: per-service and overall ("") serving status, with Check, List and Watch.

import { LlmError } from "@llm/errors";
import { type Health, HealthCheckResponse_ServingStatus as ServingStatus } from "@llm/proto";
import type { CallContext, ServiceImpl } from "./server.js";

export { ServingStatus };

export class HealthState {
  readonly #statuses = new Map<string, ServingStatus>();
  readonly #watchers = new Set<() => void>();
  #closed = false;

  /** Sets the status of `service` ("" is the whole server) and wakes every Watch. */
  set(service: string, status: ServingStatus): void {
    this.#statuses.set(service, status);
    for (const wake of this.#watchers) wake();
  }

  get(service: string): ServingStatus | undefined {
    return this.#statuses.get(service);
  }

  /** Ends every Watch stream, so a draining server is not held open by health watchers. */
  close(): void {
    this.#closed = true;
    for (const wake of this.#watchers) wake();
  }

  readonly impl: ServiceImpl<typeof Health> = {
    check: async ({ service }) => {
      const status = this.get(service);
      if (status === undefined) throw new LlmError("not_found", `unknown service "${service}"`);
      return { status };
    },
    list: async () => ({
      statuses: Object.fromEntries([...this.#statuses].map(([name, status]) => [name, { status }])),
    }),
    watch: ({ service }, ctx) => this.#watch(service, ctx),
  };

  async *#watch(service: string, ctx: CallContext): AsyncGenerator<{ status: ServingStatus }> {
    let wake = () => {};
    const woken = () => new Promise<void>((resolve) => (wake = resolve));
    const onChange = () => wake();
    this.#watchers.add(onChange);
    ctx.signal.addEventListener("abort", onChange, { once: true });
    try {
      let sent: ServingStatus | undefined;
      while (!ctx.signal.aborted) {
        const next = woken();
        const status = this.get(service) ?? ServingStatus.SERVICE_UNKNOWN;
        if (status !== sent) yield { status };
        sent = status;
        if (this.#closed) return;
        await next;
      }
    } finally {
      this.#watchers.delete(onChange);
      ctx.signal.removeEventListener("abort", onChange);
    }
  }
}
