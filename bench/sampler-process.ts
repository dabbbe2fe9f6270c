// A sampler service in its own process (services/sampler), and RemoteSamplers connected to it built as the
// model-runner builds them: what the benches that measure the remote sampler share.
import { existsSync } from "node:fs";
import { type RunningService, startService } from "@llm/launcher";
import { jsonLog, type Log } from "@llm/log";
import type { GrammarVocabulary } from "@llm/sampling";
import { RemoteSampler, type SamplerTransport } from "../services/model-runner/src/remote-sampler.js";

/** The sidecar transport's ring directory: memory-backed and reached by both processes (unset: no ring). */
export const RING_DIR = existsSync("/dev/shm") ? "/dev/shm" : undefined;

export class SamplerProcess {
  private constructor(private readonly service: RunningService) {}

  static async start(): Promise<SamplerProcess> {
    return new SamplerProcess(await startService("services/sampler/src/main.ts", { name: "sampler" }));
  }

  /**
   * The runner's client to this sampler over `transport`; with `vocabulary`, constrained sequences have their
   * constraint compiled on the sampler first (PrepareConstraint), as the runner does. The caller shuts it down.
   */
  connect(transport: SamplerTransport, vocabulary?: GrammarVocabulary, log: Log = jsonLog()): RemoteSampler {
    return new RemoteSampler(this.service.address, log, undefined, undefined, transport, vocabulary);
  }

  async stop(): Promise<void> {
    await this.service.stop();
  }
}
