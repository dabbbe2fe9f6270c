// Helpers for reading `tokenizer.json`: every part the loader does not implement is refused with
// the JSON path of that part, so a deployment learns at startup exactly what is missing.
import { LlmError } from "@llm/errors";

export type Json = Record<string, unknown>;

export function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** FAILED_PRECONDITION naming the JSON path (`pre_tokenizer.pretokenizers[1]`) and what is there. */
export function unsupported(path: string, what: string): LlmError {
  return new LlmError("failed_precondition", `unsupported tokenizer.json: ${path}: ${what}`, {
    details: { jsonPath: path },
  });
}

/** A part's `type`, or its JSON when it has none. */
export function describe(part: unknown): string {
  return isObject(part) && typeof part.type === "string" ? part.type : JSON.stringify(part);
}

/** The list under `key` of a Sequence-like part, refused when it is not an array. */
export function listAt(part: Json, key: string, path: string): unknown[] {
  const list = part[key];
  if (!Array.isArray(list)) throw unsupported(`${path}.${key}`, "expected an array");
  return list;
}
