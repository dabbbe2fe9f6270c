// llm.v1.SamplerService: one long-lived Sample stream per model runner, one response per engine step.

import { LlmError } from "@llm/errors";
import type { Log } from "@llm/log";
import type { SamplerService } from "@llm/proto";
import { type ServiceImpl, untilAborted } from "@llm/rpc";
import { isConstrained, type StrategyRegistry } from "@llm/sampling";
import type { ConstraintCompilers } from "./constraint-compilers.js";
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

export function samplerService(
  registry: StrategyRegistry,
  log: Log,
  compilers: ConstraintCompilers,
): SamplerServiceHandle {
  const draining = new AbortController();
  const impl: ServiceImpl<typeof SamplerService> = {
    async *sample(requests, ctx) {
      const session = new SampleSession(registry, compilers);
      const spans = new SequenceSpans();
      log({ level: "info", msg: "sample stream opened", peer: ctx.peer });
      let steps = 0;
      try {
        for await (const request of untilAborted(requests, draining.signal, "end")) {
          const ring = request.ringOffer && session.attachRing(request.ringOffer);
          if (ring) log({ level: ring.attached ? "info" : "warn", msg: "ring offer", peer: ctx.peer, ...ring });
          const tokens = await session.apply(request);
          spans.record(request, tokens);
          if (request.steps.length === 0 && !ring) continue; // only steps and offers are answered (sampler.proto)
          if (request.steps.length > 0) steps++;
          yield { tokens, ring };
        }
      } finally {
        session.end();
        spans.endAll();
        log({ level: "info", msg: "sample stream closed", peer: ctx.peer, steps, open: session.openSequences });
      }
    },
    async listStrategies() {
      return { strategies: registry.list() };
    },
    async prepareConstraint({ vocabularyId, params, vocabulary }) {
      const constraint = params?.constraint;
      if (!isConstrained(constraint)) {
        throw new LlmError("invalid_argument", "params.constraint is unset: there is nothing to prepare");
      }
      const compiler = await compilers.get(vocabularyId, vocabulary);
      await compiler.compile(constraint);
      return {};
    },
  };
  return { impl, drain: () => draining.abort() };
}
