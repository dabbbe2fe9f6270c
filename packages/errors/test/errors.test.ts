import { Metadata, type ServiceError, status } from "@grpc/grpc-js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  codeOfGrpcStatus,
  ERROR_CODES,
  type ErrorCode,
  fromGrpcError,
  grpcStatusOf,
  INTERNAL_ERROR_MESSAGE,
  LlmError,
  RETRY_AFTER_MS_KEY,
  toGrpcError,
  toLlmError,
} from "../src/index.js";

const CODES = Object.keys(ERROR_CODES) as ErrorCode[];

/** What grpc-js hands a client: the server's status as an Error (see grpc-js `callErrorFromStatus`). */
function asReceived(sent: { code: number; details: string; metadata: Metadata }): ServiceError {
  return Object.assign(new Error(`${sent.code} ${status[sent.code]}: ${sent.details}`), sent);
}

describe("LlmError codes", () => {
  it("maps each code to the agreed gRPC and HTTP statuses", () => {
    const table = Object.fromEntries(CODES.map((c) => [c, [status[ERROR_CODES[c].grpc], ERROR_CODES[c].http]]));
    expect(table).toEqual({
      invalid_argument: ["INVALID_ARGUMENT", 400],
      not_found: ["NOT_FOUND", 404],
      resource_exhausted: ["RESOURCE_EXHAUSTED", 429],
      unavailable: ["UNAVAILABLE", 503],
      deadline_exceeded: ["DEADLINE_EXCEEDED", 504],
      cancelled: ["CANCELLED", 499],
      failed_precondition: ["FAILED_PRECONDITION", 412],
      internal: ["INTERNAL", 500],
      unauthenticated: ["UNAUTHENTICATED", 401],
      permission_denied: ["PERMISSION_DENIED", 403],
      payload_too_large: ["RESOURCE_EXHAUSTED", 413],
    });
  });

  it("rejects a code outside the closed set", () => {
    expect(() => new LlmError("teapot" as ErrorCode, "x")).toThrow(/unknown LlmError code "teapot"/);
  });

  it("exposes statuses and a JSON body", () => {
    const err = new LlmError("resource_exhausted", "queue full", { retryAfterMs: 250, details: { depth: 10 } });
    expect([err.grpcStatus, err.httpStatus]).toEqual([status.RESOURCE_EXHAUSTED, 429]);
    expect(JSON.parse(JSON.stringify(err))).toEqual({
      code: "resource_exhausted",
      message: "queue full",
      details: { depth: 10 },
      retryAfterMs: 250,
    });
  });
});

describe("gRPC mapping", () => {
  it("round-trips code (the first one sharing its gRPC status), message, retry hint and details", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...CODES),
        fc.string({ minLength: 1 }),
        fc.option(fc.nat(3_600_000), { nil: undefined }),
        fc.option(fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer())), { nil: undefined }),
        (code, message, retryAfterMs, details) => {
          const back = fromGrpcError(asReceived(toGrpcError(new LlmError(code, message, { retryAfterMs, details }))));
          expect(back).toBeInstanceOf(LlmError);
          expect({
            code: back.code,
            message: back.message,
            retryAfterMs: back.retryAfterMs,
            details: back.details,
          }).toEqual({ code: codeOfGrpcStatus(grpcStatusOf(code)), message, retryAfterMs, details });
        },
      ),
    );
  });

  it("reads payload_too_large back as resource_exhausted, every other code as itself", () => {
    const back = (code: ErrorCode) => fromGrpcError(asReceived(toGrpcError(new LlmError(code, "m")))).code;
    expect(back("payload_too_large")).toBe("resource_exhausted");
    const others = CODES.filter((code) => code !== "payload_too_large");
    expect(others.map(back)).toEqual(others);
  });

  it("turns an unknown thrown error into INTERNAL without leaking its message", () => {
    const secret = new Error("ENOENT: /srv/keys/private.pem");
    const sent = toGrpcError(secret);
    expect(sent.code).toBe(status.INTERNAL);
    expect(sent.details).toBe(INTERNAL_ERROR_MESSAGE);
    expect(sent.details).not.toContain("private.pem");
    expect(toLlmError(secret).cause).toBe(secret);
    expect(toGrpcError("a string was thrown").code).toBe(status.INTERNAL);
  });

  it("folds gRPC statuses outside the set onto the nearest code", () => {
    const received = (code: status) => fromGrpcError(asReceived({ code, details: "d", metadata: new Metadata() }));
    expect(received(status.UNIMPLEMENTED).code).toBe("not_found");
    expect(received(status.OUT_OF_RANGE).code).toBe("invalid_argument");
    expect(received(status.UNKNOWN).code).toBe("internal");
  });

  it("ignores a retry hint that is not a number", () => {
    const metadata = new Metadata();
    metadata.set(RETRY_AFTER_MS_KEY, "soon");
    const err = fromGrpcError(asReceived({ code: status.UNAVAILABLE, details: "down", metadata }));
    expect(err.code).toBe("unavailable");
    expect(err.retryAfterMs).toBeUndefined();
  });
});
