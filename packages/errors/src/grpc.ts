import { Metadata, type ServiceError, type StatusObject } from "@grpc/grpc-js";
import { codeOfGrpcStatus } from "./codes.js";
import { LlmError, toLlmError } from "./llm-error.js";

/** Trailer carrying LlmError.retryAfterMs (milliseconds, decimal). */
export const RETRY_AFTER_MS_KEY = "retry-after-ms";
/** Binary trailer carrying LlmError.details as UTF-8 JSON. */
export const DETAILS_KEY = "llm-error-details-bin";

/** A thrown value as the status a gRPC server sends; unknown errors become INTERNAL with a safe message. */
export function toGrpcError(err: unknown): StatusObject {
  const llm = toLlmError(err);
  const metadata = new Metadata();
  if (llm.retryAfterMs !== undefined) metadata.set(RETRY_AFTER_MS_KEY, String(Math.round(llm.retryAfterMs)));
  if (llm.details !== undefined) metadata.set(DETAILS_KEY, Buffer.from(JSON.stringify(llm.details)));
  return { code: llm.grpcStatus, details: llm.message, metadata };
}

/** A client-side gRPC error back as an LlmError, keeping code, message, retry hint and details. */
export function fromGrpcError(err: unknown): LlmError {
  if (err instanceof LlmError) return err;
  if (!isServiceError(err)) return toLlmError(err);
  const metadata = err.metadata;
  const retry = Number(metadata?.get(RETRY_AFTER_MS_KEY)[0]);
  const detailsValue = metadata?.get(DETAILS_KEY)[0];
  return new LlmError(codeOfGrpcStatus(err.code), err.details || err.message, {
    retryAfterMs: Number.isFinite(retry) ? retry : undefined,
    details: Buffer.isBuffer(detailsValue) ? parseDetails(detailsValue) : undefined,
    cause: err,
  });
}

function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === "number";
}

function parseDetails(raw: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(raw.toString("utf8"));
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined; // A peer that is not ours may use the key differently; the status itself still stands.
  }
}
