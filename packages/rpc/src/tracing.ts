// W3C trace context in gRPC metadata, in this one place: clients inject the active context into every call's
// metadata; servers continue it in a SERVER span per call (each service's "request span"). Without a running
// OTel SDK both are no-ops.
import type { Metadata } from "@grpc/grpc-js";
import { markFailed, SEMCONV, tracer } from "@llm/telemetry";
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  type TextMapGetter,
  type TextMapSetter,
  trace,
} from "@opentelemetry/api";

const metadataSetter: TextMapSetter<Metadata> = { set: (metadata, key, value) => metadata.set(key, value) };
const metadataGetter: TextMapGetter<Metadata> = {
  keys: (metadata) => Object.keys(metadata.getMap()),
  get: (metadata, key) => {
    const values = metadata.get(key).map(String);
    return values.length > 0 ? values : undefined;
  },
};

/** Adds `traceparent` (and `tracestate`) of the active context to `metadata`. */
export function injectTraceContext(metadata: Metadata): Metadata {
  propagation.inject(context.active(), metadata, metadataSetter);
  return metadata;
}

/** One call's span: `run` executes the handler inside it, `end` closes it (marking a failure). */
export interface CallSpan {
  run<T>(fn: () => T): T;
  end(error?: unknown): void;
}

const UNTRACED: CallSpan = { run: (fn) => fn(), end: () => {} };

/** A SERVER span named after the method, child of the caller's context carried in the metadata. */
export function callSpan(path: string, metadata: Metadata, traced: boolean): CallSpan {
  if (!traced) return UNTRACED;
  const parent = propagation.extract(ROOT_CONTEXT, metadata, metadataGetter);
  const name = path.slice(1); // "llm.v1.TokenizerService/Encode"
  const [service, method] = name.split("/");
  const span = tracer().startSpan(
    name,
    {
      kind: SpanKind.SERVER,
      attributes: { [SEMCONV.rpcSystem]: "grpc", [SEMCONV.rpcService]: service, [SEMCONV.rpcMethod]: method },
    },
    parent,
  );
  const active = trace.setSpan(parent, span);
  return {
    run: (fn) => context.with(active, fn),
    end(error) {
      if (error !== undefined) markFailed(span, error);
      span.end();
    },
  };
}
