// Services a test starts side by side and stops together, even when one of them failed to start.
import { type RunningService, type StartServiceOptions, startService } from "@llm/launcher";

export class ServiceGroup {
  private readonly started: RunningService[] = [];

  /** Starts `entries` (entry file, options) at once; every one that started is stopped by stopAll, even on failure. */
  async start(entries: [string, StartServiceOptions][]): Promise<RunningService[]> {
    const results = await Promise.allSettled(entries.map(([entry, options]) => startService(entry, options)));
    for (const result of results) if (result.status === "fulfilled") this.started.push(result.value);
    const failed = results.find((result) => result.status === "rejected");
    if (failed) throw failed.reason;
    return results.map((result) => (result as PromiseFulfilledResult<RunningService>).value);
  }

  /** Stops the services one by one, last started first (front doors before what they call); returns each exit. */
  async stopAll(): Promise<Awaited<ReturnType<RunningService["stop"]>>[]> {
    const exits = [];
    for (const service of this.started.splice(0).reverse()) exits.push(await service.stop());
    return exits;
  }
}
