// grpc.reflection.v1 from protobuf-es descriptors, so grpcurl and friends can call services without .proto files.
import { createRegistry, type DescFile, type DescService, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { status as GrpcStatus } from "@grpc/grpc-js";
import type { MessageInitShape, ServerReflection, ServerReflectionRequest } from "@llm/proto";
import type { ServiceImpl } from "./server.js";

type Answer = MessageInitShape<typeof ServerReflection.method.serverReflectionInfo.output>["messageResponse"];

export function reflectionImpl(services: readonly DescService[]): ServiceImpl<typeof ServerReflection> {
  const files = new Map<string, DescFile>();
  for (const service of services) collectFiles(service.file, files);
  const registry = createRegistry(...files.values());
  const serviceNames = services.map((s) => ({ name: s.typeName }));

  const fileResponse = (file: DescFile | undefined, lookedUp: string): Answer => {
    if (!file) return notFound(lookedUp);
    const closure = new Map<string, DescFile>();
    collectFiles(file, closure); // The requested file first, then its transitive dependencies.
    return {
      case: "fileDescriptorResponse",
      value: { fileDescriptorProto: [...closure.values()].map((f) => toBinary(FileDescriptorProtoSchema, f.proto)) },
    };
  };

  const answer = (request: ServerReflectionRequest): Answer => {
    const { case: kind, value } = request.messageRequest;
    switch (kind) {
      case "listServices":
        return { case: "listServicesResponse", value: { service: serviceNames } };
      case "fileByFilename":
        return fileResponse(files.get(value), value);
      case "fileContainingSymbol":
        return fileResponse(fileOfSymbol(registry, value), value);
      case "allExtensionNumbersOfType":
        // No contract here declares extensions: a known message type has none.
        return registry.getMessage(value)
          ? { case: "allExtensionNumbersResponse", value: { baseTypeName: value, extensionNumber: [] } }
          : notFound(value);
      case "fileContainingExtension":
        return notFound(`extension ${value.extensionNumber} of ${value.containingType}`);
      default:
        return {
          case: "errorResponse",
          value: { errorCode: GrpcStatus.INVALID_ARGUMENT, errorMessage: "empty request" },
        };
    }
  };

  return {
    async *serverReflectionInfo(requests) {
      for await (const request of requests) {
        yield { validHost: request.host, originalRequest: request, messageResponse: answer(request) };
      }
    },
  };
}

function collectFiles(file: DescFile, into: Map<string, DescFile>): void {
  if (into.has(file.proto.name)) return;
  into.set(file.proto.name, file);
  for (const dependency of file.dependencies) collectFiles(dependency, into);
}

/** The file declaring a type, service or `Service.Method` (a method is not in the registry: try its service). */
function fileOfSymbol(registry: ReturnType<typeof createRegistry>, symbol: string): DescFile | undefined {
  const direct = registry.get(symbol);
  if (direct) return direct.file;
  const dot = symbol.lastIndexOf(".");
  const service = registry.getService(symbol.slice(0, dot));
  return service?.methods.some((m) => m.name === symbol.slice(dot + 1)) ? service.file : undefined;
}

function notFound(what: string): Answer {
  return { case: "errorResponse", value: { errorCode: GrpcStatus.NOT_FOUND, errorMessage: `${what} not found` } };
}
