// protobuf-es v2 service descriptors as grpc-js method definitions, and the handler/client types they imply.
import {
  create,
  type DescMethod,
  type DescService,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import type { MethodDefinition } from "@grpc/grpc-js";

export type MethodOf<S extends DescService> = S["method"][keyof S["method"]];
export type In<M extends DescMethod> = MessageShape<M["input"]>;
export type InInit<M extends DescMethod> = MessageInitShape<M["input"]>;
export type Out<M extends DescMethod> = MessageShape<M["output"]>;
export type OutInit<M extends DescMethod> = MessageInitShape<M["output"]>;

/** `/${service.typeName}/${method.name}`: the HTTP/2 path gRPC routes on. */
export function methodPath(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}

/** Unary, server-streaming and bidi are served; client streaming is not used by any contract here. */
export function assertSupported(method: DescMethod): void {
  if (method.methodKind === "client_streaming") {
    throw new TypeError(`${methodPath(method)}: client-streaming methods are not supported by @llm/rpc`);
  }
}

export function methodDefinition(method: DescMethod): MethodDefinition<unknown, unknown> {
  assertSupported(method);
  return {
    path: methodPath(method),
    originalName: method.localName,
    requestStream: method.methodKind === "bidi_streaming",
    responseStream: method.methodKind !== "unary",
    requestSerialize: serializer(method.input),
    requestDeserialize: deserializer(method.input),
    responseSerialize: serializer(method.output),
    responseDeserialize: deserializer(method.output),
  };
}

// `create` passes a message through unchanged and builds one from an init object, so callers may send either.
function serializer(schema: DescMethod["input"]): (value: unknown) => Buffer {
  return (value) => {
    const bytes = toBinary(schema, create(schema, value as MessageInitShape<typeof schema>));
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

function deserializer(schema: DescMethod["input"]): (bytes: Buffer) => unknown {
  return (bytes) => fromBinary(schema, bytes);
}
