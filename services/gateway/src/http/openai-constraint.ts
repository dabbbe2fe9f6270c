// Structured-output fields of an OpenAI body as SamplingParams' `constraint`: `response_format`
// (json_object, json_schema) and, as vLLM names them, `guided_json`, `guided_regex`, `guided_choice`,
// `guided_grammar`. At most one may be given. Schemas and grammars themselves are checked with the other
// sampling params (validateRequest), so gRPC and HTTP refuse the same things with the same words.
import type { GenerateRequestSchema, MessageInitShape } from "@llm/proto";
import { shown } from "../shown.js";

type ConstraintInit = NonNullable<MessageInitShape<typeof GenerateRequestSchema>["sampling"]>["constraint"];

export const GUIDED_FIELDS = ["guided_json", "guided_regex", "guided_choice", "guided_grammar"] as const;

type Problem = (field: string, message: string) => void;

export function constraintOf(body: Record<string, unknown>, problem: Problem): ConstraintInit {
  const given = ["response_format", ...GUIDED_FIELDS].filter((name) => body[name] !== undefined && body[name] !== null);
  const constraints = given.map((name) => fieldConstraint(name, body[name], problem)).filter((c) => c !== undefined);
  if (constraints.length > 1) {
    problem(given.join(", "), `only one of response_format and ${GUIDED_FIELDS.join(", ")} may constrain the output`);
  }
  return constraints[0];
}

function fieldConstraint(name: string, value: unknown, problem: Problem): ConstraintInit | undefined {
  switch (name) {
    case "response_format":
      return responseFormat(value, problem);
    case "guided_json":
      if (typeof value === "string") return { case: "jsonSchema", value: { schema: value } };
      if (isObject(value)) return { case: "jsonSchema", value: { schema: JSON.stringify(value) } };
      break;
    case "guided_regex":
      if (typeof value === "string") return { case: "regex", value };
      break;
    case "guided_grammar":
      if (typeof value === "string") return { case: "grammar", value };
      break;
    case "guided_choice":
      if (Array.isArray(value) && value.every((option) => typeof option === "string")) {
        return { case: "choice", value: { options: value } };
      }
      problem(name, `${name} must be a list of strings, got ${shown(value)}`);
      return undefined;
  }
  problem(
    name,
    `${name} must be ${name === "guided_json" ? "a JSON schema (object or string)" : "a string"}, got ${shown(value)}`,
  );
  return undefined;
}

/** OpenAI's response_format: {type: "text"} | {type: "json_object"} | {type: "json_schema", json_schema: {name, schema, strict}}. */
function responseFormat(format: unknown, problem: Problem): ConstraintInit | undefined {
  const type = isObject(format) ? format.type : undefined;
  if (type === "text") return undefined;
  if (type === "json_object") return { case: "jsonObject", value: true };
  if (type !== "json_schema") {
    problem(
      "response_format",
      `response_format.type must be "text", "json_object" or "json_schema", got ${shown(type)}`,
    );
    return undefined;
  }
  const spec = (format as Record<string, unknown>).json_schema;
  if (!isObject(spec) || typeof spec.name !== "string" || !/^[a-zA-Z0-9_-]{1,64}$/.test(spec.name)) {
    problem("response_format.json_schema", "response_format.json_schema needs a name of 1-64 letters, digits, _ or -");
    return undefined;
  }
  const schema = spec.schema ?? {};
  if (!isObject(schema)) {
    problem("response_format.json_schema.schema", "response_format.json_schema.schema must be a JSON Schema object");
    return undefined;
  }
  if (spec.strict !== undefined && spec.strict !== null && typeof spec.strict !== "boolean") {
    problem("response_format.json_schema.strict", "response_format.json_schema.strict must be true or false");
  }
  return { case: "jsonSchema", value: { schema: JSON.stringify(schema), strict: spec.strict === true } };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
