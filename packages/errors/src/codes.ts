import { status as GrpcStatus } from "@grpc/grpc-js";

/** The closed set of error codes, each mapped once to a gRPC status and once to an HTTP status. */
export const ERROR_CODES = {
  invalid_argument: { grpc: GrpcStatus.INVALID_ARGUMENT, http: 400 },
  not_found: { grpc: GrpcStatus.NOT_FOUND, http: 404 },
  resource_exhausted: { grpc: GrpcStatus.RESOURCE_EXHAUSTED, http: 429 },
  unavailable: { grpc: GrpcStatus.UNAVAILABLE, http: 503 },
  deadline_exceeded: { grpc: GrpcStatus.DEADLINE_EXCEEDED, http: 504 },
  // 499 is nginx's "client closed request": the client went away, nothing failed on our side.
  cancelled: { grpc: GrpcStatus.CANCELLED, http: 499 },
  failed_precondition: { grpc: GrpcStatus.FAILED_PRECONDITION, http: 412 },
  internal: { grpc: GrpcStatus.INTERNAL, http: 500 },
  unauthenticated: { grpc: GrpcStatus.UNAUTHENTICATED, http: 401 },
  permission_denied: { grpc: GrpcStatus.PERMISSION_DENIED, http: 403 },
  // A request body over the HTTP API's size limit. gRPC has no closer status (grpc-js itself answers an oversized
  // message with RESOURCE_EXHAUSTED), so it reads back from gRPC as resource_exhausted: listed after it, never first.
  payload_too_large: { grpc: GrpcStatus.RESOURCE_EXHAUSTED, http: 413 },
} as const satisfies Record<string, { grpc: GrpcStatus; http: number }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.hasOwn(ERROR_CODES, value);
}

export function grpcStatusOf(code: ErrorCode): GrpcStatus {
  return ERROR_CODES[code].grpc;
}

export function httpStatusOf(code: ErrorCode): number {
  return ERROR_CODES[code].http;
}

/** gRPC statuses outside the closed set, as seen by clients of other servers, folded onto the nearest code. */
const FOREIGN_GRPC_STATUS: Partial<Record<GrpcStatus, ErrorCode>> = {
  [GrpcStatus.OUT_OF_RANGE]: "invalid_argument",
  [GrpcStatus.ALREADY_EXISTS]: "failed_precondition",
  [GrpcStatus.ABORTED]: "unavailable",
  [GrpcStatus.UNIMPLEMENTED]: "not_found",
};

export function codeOfGrpcStatus(grpcStatus: GrpcStatus): ErrorCode {
  for (const [code, mapping] of Object.entries(ERROR_CODES)) {
    if (mapping.grpc === grpcStatus) return code as ErrorCode;
  }
  return FOREIGN_GRPC_STATUS[grpcStatus] ?? "internal";
}
