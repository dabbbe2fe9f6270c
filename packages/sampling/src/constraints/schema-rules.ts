// Which JSON Schema keywords a json_schema constraint may use: OpenAI's structured-outputs subset, limited to
// what the grammar engine (XGrammar) enforces. A keyword outside this set is refused by name instead of being
// silently ignored (XGrammar skips what it does not know, which would let invalid output through).

/** Keywords that change what is valid and are enforced by the compiled grammar. */
const ENFORCED = new Set([
  "type",
  "properties",
  "required",
  "additionalProperties",
  "items",
  "prefixItems",
  "enum",
  "const",
  "anyOf",
  "$ref",
  "pattern",
  "format",
  "minLength",
  "maxLength",
  "minItems",
  "maxItems",
]);
/** Keywords that only annotate or hold definitions. */
const ANNOTATIONS = new Set([
  "$defs",
  "definitions",
  "description",
  "title",
  "default",
  "examples",
  "$schema",
  "$id",
  "$comment",
]);
/** OpenAI accepts these, but XGrammar 0.1.27's compiler ignores them: refused rather than not enforced. */
const IGNORED_BY_ENGINE = new Set(["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"]);
const FORMATS = new Set(["date", "time", "date-time", "email", "uuid", "ipv4", "ipv6", "hostname", "uri"]);
const TYPES = new Set(["object", "array", "string", "number", "integer", "boolean", "null"]);

export const SCHEMA_LIMITS = { depth: 32, nodes: 4096, enumValues: 1024 } as const;

/** The first reason the schema cannot be served, naming the keyword and where it is; undefined when fine. */
export function jsonSchemaProblem(schema: unknown, strict: boolean): string | undefined {
  const walk = new SchemaWalk(strict);
  return walk.visit(schema, "#", 0);
}

class SchemaWalk {
  private nodes = 0;
  constructor(private readonly strict: boolean) {}

  visit(node: unknown, path: string, depth: number): string | undefined {
    if (typeof node === "boolean") return undefined;
    if (typeof node !== "object" || node === null || Array.isArray(node)) {
      return `json_schema at ${path} must be an object or a boolean`;
    }
    if (++this.nodes > SCHEMA_LIMITS.nodes) return `json_schema has more than ${SCHEMA_LIMITS.nodes} subschemas`;
    if (depth > SCHEMA_LIMITS.depth) return `json_schema nests deeper than ${SCHEMA_LIMITS.depth} levels at ${path}`;
    const schema = node as Record<string, unknown>;
    for (const keyword of Object.keys(schema)) {
      if (IGNORED_BY_ENGINE.has(keyword)) {
        return `json_schema keyword "${keyword}" at ${path} is not supported: the grammar engine cannot enforce it`;
      }
      if (!ENFORCED.has(keyword) && !ANNOTATIONS.has(keyword)) {
        return `json_schema keyword "${keyword}" at ${path} is not supported`;
      }
    }
    return this.ownProblem(schema, path) ?? this.childProblem(schema, path, depth);
  }

  private ownProblem(schema: Record<string, unknown>, path: string): string | undefined {
    const types = Array.isArray(schema.type) ? schema.type : schema.type === undefined ? [] : [schema.type];
    for (const type of types) {
      if (typeof type !== "string" || !TYPES.has(type))
        return `json_schema "type" ${JSON.stringify(type)} at ${path} is unknown`;
    }
    if (schema.format !== undefined && !FORMATS.has(String(schema.format))) {
      return `json_schema "format" ${JSON.stringify(schema.format)} at ${path} is not supported; supported: ${[...FORMATS].join(", ")}`;
    }
    if (typeof schema.$ref === "string" && !schema.$ref.startsWith("#")) {
      return `json_schema "$ref" ${JSON.stringify(schema.$ref)} at ${path} is not supported: only local references ("#/...")`;
    }
    if (schema.pattern !== undefined) {
      try {
        new RegExp(String(schema.pattern), "u");
      } catch {
        return `json_schema "pattern" at ${path} is not a valid regular expression`;
      }
    }
    if (Array.isArray(schema.enum) && schema.enum.length > SCHEMA_LIMITS.enumValues) {
      return `json_schema "enum" at ${path} has ${schema.enum.length} values; the limit is ${SCHEMA_LIMITS.enumValues}`;
    }
    return this.strict ? strictObjectProblem(schema, path) : undefined;
  }

  private childProblem(schema: Record<string, unknown>, path: string, depth: number): string | undefined {
    const children: [unknown, string][] = [];
    for (const key of ["properties", "$defs", "definitions"]) {
      const map = schema[key];
      if (map !== undefined && (typeof map !== "object" || map === null || Array.isArray(map))) {
        return `json_schema "${key}" at ${path} must be an object`;
      }
      for (const [name, child] of Object.entries((map ?? {}) as object))
        children.push([child, `${path}/${key}/${name}`]);
    }
    for (const key of ["items", "additionalProperties"]) {
      if (schema[key] !== undefined) children.push([schema[key], `${path}/${key}`]);
    }
    for (const key of ["anyOf", "prefixItems"]) {
      const list = schema[key];
      if (list === undefined) continue;
      if (!Array.isArray(list) || list.length === 0) return `json_schema "${key}" at ${path} must be a non-empty array`;
      for (const [i, child] of list.entries()) children.push([child, `${path}/${key}/${i}`]);
    }
    for (const [child, childPath] of children) {
      const problem = this.visit(child, childPath, depth + 1);
      if (problem) return problem;
    }
    return undefined;
  }
}

/** OpenAI's strict-mode rules: every object lists all its properties as required and allows no others. */
function strictObjectProblem(schema: Record<string, unknown>, path: string): string | undefined {
  const isObject = schema.type === "object" || (Array.isArray(schema.type) && schema.type.includes("object"));
  if (!isObject && schema.properties === undefined) return undefined;
  if (schema.additionalProperties !== false) {
    return `json_schema with strict: true needs "additionalProperties": false on the object at ${path}`;
  }
  const required = new Set(Array.isArray(schema.required) ? schema.required : []);
  const missing = Object.keys((schema.properties ?? {}) as object).filter((name) => !required.has(name));
  if (missing.length > 0) {
    return `json_schema with strict: true needs "required" to list every property of the object at ${path} (missing: ${missing.join(", ")})`;
  }
  return undefined;
}
