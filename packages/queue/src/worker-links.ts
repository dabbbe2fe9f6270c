// What a process that works a model's queue holds in Redis besides its BullMQ workers, opened and closed in one
// place for runners and embedders: a buffering connection for its writes (they wait out a short outage in order),
// patient connections for its jobs, the cancel listener, and the model's announcement, renewed until closed.
import type { Log } from "@llm/log";
import type { RedisClient, RedisTarget } from "@llm/redis";
import { CancelListener } from "./cancellations.js";
import { bufferingConnection, patientConnection, whenReady } from "./connection.js";
import { keepAnnouncing } from "./model-catalog.js";

export interface WorkerLinksOptions {
  redis: RedisTarget;
  /** Names the connections (`${role}-writes`, `${role}-jobs`, …) in Redis's client list and in logs. */
  role: string;
  outageWindowMs: number;
  cancelChannel: string;
  /** Announces the served model through the writes connection (renewed on a timer). */
  announce(writes: RedisClient): Promise<void>;
  log: Log;
}

export class WorkerLinks {
  private readonly connections: RedisClient[];

  private constructor(
    private readonly options: WorkerLinksOptions,
    readonly writes: RedisClient,
    readonly jobs: RedisClient,
    readonly cancels: CancelListener,
    private readonly announcer: NodeJS.Timeout,
  ) {
    this.connections = [writes, jobs];
  }

  static async open(options: WorkerLinksOptions): Promise<WorkerLinks> {
    const { redis, role } = options;
    const writes = bufferingConnection(redis, `${role}-writes`, options.outageWindowMs);
    const jobs = patientConnection(redis, `${role}-jobs`);
    await whenReady(writes);
    const cancels = await CancelListener.listen(patientConnection(redis, `${role}-cancels`), options.cancelChannel);
    const announcer = await keepAnnouncing(() => options.announce(writes), options.log);
    return new WorkerLinks(options, writes, jobs, cancels, announcer);
  }

  /** Another patient connection for jobs (a second queue), closed with the rest. */
  moreJobs(name: string): RedisClient {
    const connection = patientConnection(this.options.redis, `${this.options.role}-${name}`);
    this.connections.push(connection);
    return connection;
  }

  /** After the workers closed: no more announcements, cancels or connections. */
  close(): void {
    clearInterval(this.announcer);
    this.cancels.close();
    for (const connection of this.connections) connection.disconnect();
  }
}
