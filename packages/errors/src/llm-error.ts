import { type ErrorCode, grpcStatusOf, httpStatusOf, isErrorCode } from "./codes.js";

export interface LlmErrorOptions {
  /** Machine-readable context (field name, limit, …); sent to clients, so never secrets. */
  details?: Record<string, unknown>;
  /** When the client may retry (resource_exhausted, unavailable). */
  retryAfterMs?: number;
  cause?: unknown;
}

/** The one error type of the project: a code from the closed set plus a message a person can act on. */
export class LlmError extends Error {
  readonly code: ErrorCode;
  readonly details?: Record<string, unknown>;
  readonly retryAfterMs?: number;

  constructor(code: ErrorCode, message: string, options: LlmErrorOptions = {}) {
    if (!isErrorCode(code)) throw new TypeError(`unknown LlmError code ${JSON.stringify(code)}`);
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "LlmError";
    this.code = code;
    if (options.details !== undefined) this.details = options.details;
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }

  get grpcStatus(): number {
    return grpcStatusOf(this.code);
  }

  get httpStatus(): number {
    return httpStatusOf(this.code);
  }

  /** The body an HTTP API sends: code, message and the client-safe extras. */
  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown>; retryAfterMs?: number } {
    return { code: this.code, message: this.message, details: this.details, retryAfterMs: this.retryAfterMs };
  }
}

export function isLlmError(err: unknown): err is LlmError {
  return err instanceof LlmError;
}

export const INTERNAL_ERROR_MESSAGE = "internal error (the service log has the cause)";

/**
 * Any thrown value as an LlmError. An unknown error becomes `internal` with a safe message (its text may
 * hold paths or data that must not reach clients); the original stays as `cause` for the log.
 */
export function toLlmError(err: unknown): LlmError {
  if (isLlmError(err)) return err;
  return new LlmError("internal", INTERNAL_ERROR_MESSAGE, { cause: err });
}
