// Any failure as OpenAI's error object, with the HTTP status from @llm/errors' one mapping and a retry hint.
import { type ErrorCode, type LlmError, toLlmError } from "@llm/errors";

export interface OpenAiError {
  error: { message: string; type: string; param: string | null; code: string };
}

export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: OpenAiError;
}

// OpenAI's `type` families; clients branch on the HTTP status, the type is for people reading the body.
const TYPES: Partial<Record<ErrorCode, string>> = {
  unauthenticated: "authentication_error",
  permission_denied: "permission_error",
  not_found: "not_found_error",
  resource_exhausted: "rate_limit_error",
  unavailable: "server_error",
  deadline_exceeded: "timeout_error",
  internal: "server_error",
};

export function errorResponse(err: unknown): ErrorResponse {
  const llm = toLlmError(err);
  const headers: Record<string, string> = {};
  if (llm.retryAfterMs !== undefined) {
    headers["retry-after"] = String(Math.max(1, Math.ceil(llm.retryAfterMs / 1000)));
    headers["retry-after-ms"] = String(Math.round(llm.retryAfterMs)); // the openai clients prefer this one
  }
  return {
    status: llm.httpStatus,
    headers,
    body: {
      error: {
        message: llm.message,
        type: TYPES[llm.code] ?? "invalid_request_error",
        param: paramOf(llm),
        code: llm.code,
      },
    },
  };
}

/** The request field at fault, as OpenAI names it: `temperature`, `messages[0].role`, `prompt[2]` (a token id). */
function paramOf({ details }: LlmError): string | null {
  const problems = details?.problems as { field?: unknown }[] | undefined;
  const field = details?.field ?? problems?.[0]?.field;
  if (typeof field !== "string") return null;
  return field
    .replace(/^sampling\./, "")
    .replace(/^prompt\.chat\./, "")
    .replace(/^prompt\.token_ids\.ids/, "prompt");
}
