// One `llm.sampler.sequence` span per sequence a runner opens on a Sample stream, child of the request's
// context the runner sends in SequenceStart.trace_context (so a remote sampler appears in the request's
// trace); it counts the tokens sampled and ends when the sequence is closed or its stream ends.
import type { MessageInitShape, SampledTokenSchema, SampleRequest } from "@llm/proto";
import { extractContext, LLM_ATTR, markFailed, SPANS, tracer } from "@llm/telemetry";
import type { Span } from "@opentelemetry/api";

type SampledTokenInit = MessageInitShape<typeof SampledTokenSchema>;

export class SequenceSpans {
  private readonly open = new Map<bigint, { span: Span; tokens: number }>();

  /** Call with each request and the tokens answered for it. */
  record(request: SampleRequest, tokens: readonly SampledTokenInit[]): void {
    for (const { sequenceId, traceContext, params } of request.opened) {
      if (Object.keys(traceContext).length === 0) continue;
      const span = tracer().startSpan(
        SPANS.samplerSequence,
        { attributes: { [LLM_ATTR.samplerStrategy]: params?.strategy || "standard" } },
        extractContext(traceContext),
      );
      this.open.set(sequenceId, { span, tokens: 0 });
    }
    for (const token of tokens) {
      const entry = token.sequenceId === undefined ? undefined : this.open.get(token.sequenceId);
      if (!entry) continue;
      if (token.error) markFailed(entry.span, { code: token.error.code, message: token.error.message });
      else entry.tokens++;
    }
    for (const id of request.closed) this.end(id);
  }

  /** The stream ended: whatever is still open ends with it. */
  endAll(): void {
    for (const id of [...this.open.keys()]) this.end(id);
  }

  private end(id: bigint): void {
    const entry = this.open.get(id);
    if (!entry) return;
    this.open.delete(id);
    entry.span.setAttribute(LLM_ATTR.samplerTokens, entry.tokens);
    entry.span.end();
  }
}
