// Serving a protobuf-es service on a grpc-js server with typed async handlers.
import { type EventEmitter, once } from "node:events";
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import type {
  Metadata,
  MethodDefinition,
  Server,
  ServerDuplexStream,
  ServerUnaryCall,
  ServerWritableStream,
  sendUnaryData,
  UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { isLlmError, LlmError, toGrpcError } from "@llm/errors";
import type { Log } from "@llm/log";
import { type In, methodDefinition, type OutInit } from "./descriptors.js";
import { type CallSpan, callSpan } from "./tracing.js";
import { untilAborted } from "./until-aborted.js";
import { invalidUtf8Field } from "./utf8-field.js";

export interface CallContext {
  /** `/package.Service/Method`. */
  readonly method: string;
  readonly metadata: Metadata;
  /** Milliseconds since the epoch, or undefined when the client set no deadline. */
  readonly deadline: number | undefined;
  /** Fires when the client cancels or the deadline passes; the reason is an LlmError (cancelled/deadline_exceeded). */
  readonly signal: AbortSignal;
  readonly peer: string;
}

export type Handler<M extends DescMethod> = M["methodKind"] extends "unary"
  ? (request: In<M>, ctx: CallContext) => Promise<OutInit<M>>
  : M["methodKind"] extends "server_streaming"
    ? (request: In<M>, ctx: CallContext) => AsyncIterable<OutInit<M>>
    : M["methodKind"] extends "bidi_streaming"
      ? (requests: AsyncIterable<In<M>>, ctx: CallContext) => AsyncIterable<OutInit<M>>
      : never;

/** One handler per method, keyed by the method's local name (`encode`, `countTokens`, …). */
export type ServiceImpl<S extends DescService> = { [K in keyof S["method"]]: Handler<S["method"][K]> };

type AnyCall =
  | ServerUnaryCall<unknown, unknown>
  | ServerWritableStream<unknown, unknown>
  | ServerDuplexStream<unknown, unknown>;
type AnyHandler = (input: unknown, ctx: CallContext) => Promise<unknown> | AsyncIterable<unknown>;

export function addService<S extends DescService>(
  server: Server,
  service: S,
  impl: ServiceImpl<S>,
  log: Log,
  /** Methods (local names) whose calls get no span: long-lived streams that serve many requests. */
  untraced: readonly string[] = [],
): void {
  const definition: Record<string, ReturnType<typeof methodDefinition>> = {};
  const implementation: UntypedServiceImplementation = {};
  for (const method of service.methods) {
    const handler = (impl as Record<string, AnyHandler | undefined>)[method.localName];
    if (typeof handler !== "function") throw new TypeError(`${service.typeName}: no handler for ${method.localName}`);
    definition[method.localName] = decodingRequestsLeniently(method, methodDefinition(method));
    implementation[method.localName] = serve(method, handler.bind(impl), log, !untraced.includes(method.localName));
  }
  server.addService(definition, implementation);
}

function serve(
  method: DescMethod,
  handler: AnyHandler,
  log: Log,
  traced: boolean,
): UntypedServiceImplementation[string] {
  const spanOf = (call: AnyCall) => callSpan(call.getPath(), call.metadata, traced);
  const fail = (call: AnyCall, err: unknown) => {
    if (!isLlmError(err)) log({ level: "error", msg: "handler failed", method: call.getPath(), err });
    return toGrpcError(err);
  };
  switch (method.methodKind) {
    case "unary":
      return (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
        const ctx = contextOf(call);
        const span = spanOf(call);
        // Through a promise so that a handler throwing synchronously is reported like a rejection.
        span.run(() =>
          Promise.resolve(call.request)
            .then((request) => handler(decoded(request), ctx))
            .then(
              (response) => {
                span.end();
                callback(null, response);
              },
              (err: unknown) => {
                span.end(err);
                callback(fail(call, err));
              },
            ),
        );
      };
    case "server_streaming":
      return (call: ServerWritableStream<unknown, unknown>) => {
        const ctx = contextOf(call);
        const span = spanOf(call);
        span.run(() =>
          stream(
            call,
            () => handler(decoded(call.request), ctx) as AsyncIterable<unknown>,
            ctx.signal,
            span,
            (err) => fail(call, err),
          ),
        );
      };
    case "bidi_streaming":
      return (call: ServerDuplexStream<unknown, unknown>) => {
        const ctx = contextOf(call);
        // destroyOnReturn: false, so a handler that stops reading early does not tear down the response side.
        const requests = eachDecoded(untilAborted(call.iterator({ destroyOnReturn: false }), ctx.signal));
        const span = spanOf(call);
        span.run(() =>
          stream(
            call,
            () => handler(requests, ctx) as AsyncIterable<unknown>,
            ctx.signal,
            span,
            (err) => fail(call, err),
          ),
        );
      };
    default:
      throw new TypeError(`${method.parent.typeName}.${method.name}: unsupported method kind ${method.methodKind}`);
  }
}

/**
 * Writes every response (waiting for `drain` under backpressure), then ends the call with OK or the error's
 * status. The span ends with the call: failed, or cancelled when the client went away.
 */
async function stream(
  call: ServerWritableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>,
  start: () => AsyncIterable<unknown>,
  signal: AbortSignal,
  span: CallSpan,
  fail: (err: unknown) => ReturnType<typeof toGrpcError>,
): Promise<void> {
  try {
    for await (const response of start()) {
      if (signal.aborted) break; // Nobody is listening; `break` also finalizes the handler's generator.
      if (!call.write(response)) await once(call, "drain", { signal });
    }
    if (!signal.aborted) call.end();
    span.end(signal.aborted ? signal.reason : undefined);
  } catch (err) {
    span.end(signal.aborted ? signal.reason : err);
    if (!signal.aborted) call.emit("error", fail(err));
  }
}

/**
 * grpc-js answers a request its deserializer throws on with INTERNAL, yet bytes that are not a valid message
 * (typically a proto3 string holding invalid UTF-8, which protobuf-es rejects) are the client's fault. So the
 * deserializer hands back an UndecodableRequest instead, and the handler wrapper answers INVALID_ARGUMENT.
 */
class UndecodableRequest {
  constructor(readonly error: LlmError) {}
}

function decodingRequestsLeniently(
  method: DescMethod,
  definition: MethodDefinition<unknown, unknown>,
): MethodDefinition<unknown, unknown> {
  const deserialize = definition.requestDeserialize;
  return {
    ...definition,
    requestDeserialize: (bytes) => {
      try {
        return deserialize(bytes);
      } catch (err) {
        const invalidUtf8 = (err as NodeJS.ErrnoException).code === "ERR_ENCODING_INVALID_ENCODED_DATA";
        const field = invalidUtf8 ? invalidUtf8Field(method.input, bytes) : undefined;
        const why = invalidUtf8 ? `${field ?? "a string field"} is not valid UTF-8 text` : (err as Error).message;
        return new UndecodableRequest(
          new LlmError("invalid_argument", `request is not a valid ${method.input.typeName}: ${why}`, {
            cause: err,
            ...(field === undefined ? {} : { details: { field } }),
          }),
        );
      }
    },
  };
}

function decoded(request: unknown): unknown {
  if (request instanceof UndecodableRequest) throw request.error;
  return request;
}

async function* eachDecoded(requests: AsyncIterable<unknown>): AsyncGenerator<unknown> {
  for await (const request of requests) yield decoded(request);
}

const DEADLINE_TRANSIT_SLACK_MS = 500;

function contextOf(call: AnyCall): CallContext {
  const controller = new AbortController();
  const rawDeadline = call.getDeadline();
  const deadline = rawDeadline instanceof Date ? rawDeadline.getTime() : rawDeadline;
  const finiteDeadline = Number.isFinite(deadline) ? deadline : undefined;
  // grpc-js reports both client cancellation and an expired deadline as `cancelled`; the clock tells them apart.
  // The server's deadline is the client's plus the request's transit time (grpc-timeout is relative), so the
  // client's own deadline cancel arrives a little before it: a cancel that close to the deadline is the deadline.
  (call as EventEmitter).once("cancelled", () => {
    const expired = finiteDeadline !== undefined && Date.now() >= finiteDeadline - DEADLINE_TRANSIT_SLACK_MS;
    controller.abort(
      expired
        ? new LlmError("deadline_exceeded", `deadline exceeded for ${call.getPath()}`)
        : new LlmError("cancelled", `${call.getPath()} cancelled by the client`),
    );
  });
  return {
    method: call.getPath(),
    metadata: call.metadata,
    deadline: finiteDeadline,
    signal: controller.signal,
    peer: call.getPeer(),
  };
}
