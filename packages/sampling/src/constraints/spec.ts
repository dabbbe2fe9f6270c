// What a request may constrain its output to. The shape is protobuf-es's for SamplingParams' `constraint`
// oneof (llm.v1), so a decoded proto message passes through unchanged.
import { LlmError } from "@llm/errors";
import { jsonSchemaProblem } from "./schema-rules.js";

export type ConstraintSpec =
  | { case: "jsonObject"; value: boolean }
  | { case: "jsonSchema"; value: { schema?: string; strict?: boolean } }
  | { case: "regex"; value: string }
  | { case: "choice"; value: { options?: string[] } }
  | { case: "grammar"; value: string }
  | { case: "structuralTag"; value: string }
  | { case: undefined; value?: undefined };

export type ConstraintKind = Exclude<ConstraintSpec["case"], undefined>;

/** Size limits checked before anything is compiled: the text a compiler reads is bounded. */
export const CONSTRAINT_LIMITS = {
  schemaBytes: 64 * 1024,
  regexBytes: 4 * 1024,
  grammarBytes: 64 * 1024,
  choiceOptions: 1024,
  choiceBytes: 64 * 1024,
} as const;

/** True when the spec asks for a constraint at all (protobuf-es leaves `case` undefined otherwise). */
export function isConstrained(spec: ConstraintSpec | undefined): spec is Exclude<ConstraintSpec, { case: undefined }> {
  return spec !== undefined && spec.case !== undefined && !(spec.case === "jsonObject" && spec.value === false);
}

/** The first problem with a constraint, as a message naming the field and what is wrong; undefined if none. */
export function constraintProblem(spec: ConstraintSpec): string | undefined {
  switch (spec.case) {
    case undefined:
    case "jsonObject":
      return undefined;
    case "jsonSchema":
      return (
        tooLong("constraint.json_schema", spec.value.schema ?? "", CONSTRAINT_LIMITS.schemaBytes) ??
        schemaProblem(spec.value.schema ?? "", spec.value.strict ?? false)
      );
    case "regex":
      return tooLong("constraint.regex", spec.value, CONSTRAINT_LIMITS.regexBytes) ?? regexProblem(spec.value);
    case "grammar":
      return (
        tooLong("constraint.grammar", spec.value, CONSTRAINT_LIMITS.grammarBytes) ?? emptyProblem("grammar", spec.value)
      );
    case "structuralTag":
      return (
        tooLong("constraint.structural_tag", spec.value, CONSTRAINT_LIMITS.schemaBytes) ??
        jsonProblem("structural_tag", spec.value)
      );
    case "choice":
      return choiceProblem(spec.value.options ?? []);
    default:
      return `constraint kind ${JSON.stringify((spec as { case: unknown }).case)} is unknown`;
  }
}

/** Throws LlmError("invalid_argument") with `details.field` naming the constraint when it has a problem. */
export function checkConstraint(spec: ConstraintSpec): void {
  const problem = constraintProblem(spec);
  if (problem) throw new LlmError("invalid_argument", problem, { details: { field: "constraint" } });
}

/** A stable key for the compiled-grammar cache (together with the vocabulary's id). */
export function constraintKey(spec: Exclude<ConstraintSpec, { case: undefined }>): string {
  switch (spec.case) {
    case "jsonSchema":
      return `jsonSchema:${spec.value.strict ? 1 : 0}:${spec.value.schema}`;
    case "choice":
      return `choice:${JSON.stringify(spec.value.options ?? [])}`;
    case "jsonObject":
      return "jsonObject";
    default:
      return `${spec.case}:${spec.value}`;
  }
}

function tooLong(field: string, text: string, limit: number): string | undefined {
  const bytes = Buffer.byteLength(text, "utf8");
  return bytes > limit ? `${field} is ${bytes} bytes; the limit is ${limit}` : undefined;
}

function emptyProblem(what: string, text: string): string | undefined {
  return text.trim() === "" ? `constraint.${what} is empty` : undefined;
}

function jsonProblem(what: string, text: string): string | undefined {
  try {
    JSON.parse(text);
    return undefined;
  } catch (err) {
    return `constraint.${what} is not valid JSON: ${(err as Error).message}`;
  }
}

function schemaProblem(schema: string, strict: boolean): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(schema);
  } catch (err) {
    return `constraint.json_schema is not valid JSON: ${(err as Error).message}`;
  }
  return jsonSchemaProblem(parsed, strict);
}

function regexProblem(pattern: string): string | undefined {
  if (pattern === "") return "constraint.regex is empty";
  try {
    new RegExp(pattern, "u");
    return undefined;
  } catch (err) {
    return `constraint.regex is not a valid regular expression: ${(err as Error).message}`;
  }
}

function choiceProblem(options: readonly string[]): string | undefined {
  if (options.length === 0) return "constraint.choice needs at least one option";
  if (options.length > CONSTRAINT_LIMITS.choiceOptions) {
    return `constraint.choice has ${options.length} options; the limit is ${CONSTRAINT_LIMITS.choiceOptions}`;
  }
  if (options.some((option) => option === "")) return "constraint.choice options must not be empty strings";
  const bytes = options.reduce((sum, option) => sum + Buffer.byteLength(option, "utf8"), 0);
  if (bytes > CONSTRAINT_LIMITS.choiceBytes) {
    return `constraint.choice options total ${bytes} bytes; the limit is ${CONSTRAINT_LIMITS.choiceBytes}`;
  }
  return undefined;
}
