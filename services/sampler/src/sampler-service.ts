// llm.v1.SamplerService: one long-lived Sample stream per model runner, one response per engine step.

import type { Log } from "@llm/log";
import type { SamplerService } from "@llm/proto";
import { type ServiceImpl, untilAborted } from "@llm/rpc";
import type { StrategyRegistry } from "@llm/sampling";
import { SampleSession } from "./sample-session.js";
import { SequenceSpans } from "./sequence-spans.js";

export interface SamplerServiceHandle {
  impl: ServiceImpl<typeof SamplerService>;
  /**
   * Ends every open Sample stream at its next step boundary. Streams live as long as their runner, so a
   * graceful shutdown must end them itself; runners see the end and reconnect (to a restarted sampler).
   */
  drain(): void;
}

export function samplerService(registry: StrategyRegistry, log: Log): SamplerServiceHandle {
  const draining = new AbortController();
  const impl: ServiceImpl<typeof SamplerService> = {
    async *sample(requests, ctx) {
      const session = new SampleSession(registry);
      const spans = new SequenceSpans();
      log({ level: "info", msg: "sample stream opened", peer: ctx.peer });
      let steps = 0;
      try {
        for await (const request of untilAborted(requests, draining.signal, "end")) {
          const tokens = session.apply(request);
          spans.record(request, tokens);
          if (request.steps.length === 0) continue; // only steps are answered (see sampler.proto)
          steps++;
          yield { tokens };
        }
      } finally {
        spans.endAll();
        log({ level: "info", msg: "sample stream closed", peer: ctx.peer, steps, open: session.openSequences });
      }
    },
    async listStrategies() {
      return { strategies: registry.list() };
    },
  };
  return { impl, drain: () => draining.abort() };
}
