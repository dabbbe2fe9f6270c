// Typed grpc-js clients for protobuf-es services; every failure surfaces as an LlmError.
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import {
  type ChannelOptions,
  Client,
  type ClientDuplexStream,
  type ClientReadableStream,
  credentials,
  type CallOptions as GrpcCallOptions,
  Metadata,
} from "@grpc/grpc-js";
import { fromGrpcError, LlmError } from "@llm/errors";
import { type InInit, methodDefinition, type Out } from "./descriptors.js";
import { injectTraceContext } from "./tracing.js";

export interface CallOptions {
  /** Aborting cancels the call; the server's handler sees its ctx.signal fire. */
  signal?: AbortSignal;
  /** A Date or milliseconds since the epoch. */
  deadline?: Date | number;
  metadata?: Metadata | Record<string, string>;
}

/** An open bidirectional stream: send requests, end the request side, iterate the responses. */
export interface BidiCall<Req, Res> extends AsyncIterable<Res> {
  /** Queues one request; grpc-js buffers, so this never blocks. */
  send(request: Req): void;
  /** Half-closes: the server sees the end of its request stream. */
  end(): void;
  /** Cancels the call; iteration then ends with a `cancelled` LlmError. */
  cancel(): void;
}

export type ClientMethod<M extends DescMethod> = M["methodKind"] extends "unary"
  ? (request: InInit<M>, options?: CallOptions) => Promise<Out<M>>
  : M["methodKind"] extends "server_streaming"
    ? (request: InInit<M>, options?: CallOptions) => AsyncIterable<Out<M>>
    : M["methodKind"] extends "bidi_streaming"
      ? (options?: CallOptions) => BidiCall<InInit<M>, Out<M>>
      : never;

export type ServiceClient<S extends DescService> = { [K in keyof S["method"]]: ClientMethod<S["method"][K]> } & {
  /** Closes the channel; calls in flight are cancelled. */
  close(): void;
};

/** A client for `service` at `address` (host:port), over an insecure channel (services talk on a private network). */
export function createClient<S extends DescService>(
  service: S,
  address: string,
  channelOptions: ChannelOptions = {},
): ServiceClient<S> {
  const channel = new Client(address, credentials.createInsecure(), channelOptions);
  const client: Record<string, unknown> = { close: () => channel.close() };
  for (const method of service.methods) {
    client[method.localName] = clientMethod(channel, method);
  }
  return client as ServiceClient<S>;
}

function clientMethod(channel: Client, method: DescMethod): (...args: never[]) => unknown {
  const def = methodDefinition(method);
  const path = def.path;
  switch (method.methodKind) {
    case "unary":
      return (request: unknown, options: CallOptions = {}) =>
        new Promise((resolve, reject) => {
          if (options.signal?.aborted) return reject(cancelledBefore(path));
          const call = channel.makeUnaryRequest(
            path,
            def.requestSerialize,
            def.responseDeserialize,
            request,
            metadataOf(options),
            grpcOptions(options),
            (err, response) => (err ? reject(fromGrpcError(err)) : resolve(response)),
          );
          cancelOnAbort(call, options.signal);
        });
    case "server_streaming":
      return (request: unknown, options: CallOptions = {}) => {
        const call = channel.makeServerStreamRequest(
          path,
          def.requestSerialize,
          def.responseDeserialize,
          request,
          metadataOf(options),
          grpcOptions(options),
        );
        cancelOnAbort(call, options.signal);
        return responsesOf(call);
      };
    case "bidi_streaming":
      return (options: CallOptions = {}): BidiCall<unknown, unknown> => {
        const call = channel.makeBidiStreamRequest(
          path,
          def.requestSerialize,
          def.responseDeserialize,
          metadataOf(options),
          grpcOptions(options),
        );
        cancelOnAbort(call, options.signal);
        const responses = responsesOf(call);
        return {
          send: (request) => void call.write(request),
          end: () => void call.end(),
          cancel: () => call.cancel(),
          [Symbol.asyncIterator]: () => responses[Symbol.asyncIterator](),
        };
      };
    default:
      throw new TypeError(`${path}: unsupported method kind ${method.methodKind}`);
  }
}

/** The call's responses; errors become LlmErrors, and leaving the loop early cancels the call. */
function responsesOf(
  call: ClientReadableStream<unknown> | ClientDuplexStream<unknown, unknown>,
): AsyncIterable<unknown> {
  // Listening at once (not when iteration starts) keeps an unread failed call from crashing the process on an
  // unhandled 'error'. The status may also arrive after the last message, when Node's iterator no longer
  // rethrows it, so it is kept here and rethrown after the loop.
  let failure: unknown;
  call.on("error", (err) => {
    failure = err;
  });
  return (async function* () {
    try {
      for await (const response of call) yield response;
    } catch (err) {
      throw fromGrpcError(err);
    } finally {
      call.cancel();
    }
    if (failure) throw fromGrpcError(failure);
  })();
}

/** Cancels `call` when `signal` aborts, until the call ends (so a long-lived signal does not collect listeners). */
function cancelOnAbort(
  call: { cancel(): void; once(event: "status", listener: () => void): unknown },
  signal: AbortSignal | undefined,
): void {
  if (!signal) return;
  if (signal.aborted) {
    call.cancel();
    return;
  }
  const cancel = () => call.cancel();
  signal.addEventListener("abort", cancel, { once: true });
  call.once("status", () => signal.removeEventListener("abort", cancel));
}

function cancelledBefore(path: string): LlmError {
  return new LlmError("cancelled", `${path} was cancelled before it started`);
}

/** The caller's metadata (copied, never changed) plus the active trace context. */
function metadataOf(options: CallOptions): Metadata {
  if (options.metadata instanceof Metadata) return injectTraceContext(options.metadata.clone());
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(options.metadata ?? {})) metadata.set(key, value);
  return injectTraceContext(metadata);
}

function grpcOptions(options: CallOptions): GrpcCallOptions {
  return options.deadline === undefined ? {} : { deadline: options.deadline };
}
