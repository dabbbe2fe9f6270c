// Turns a constraint spec into an XGrammar compile call. Shared by the compiler and its time-limit probe so
// both compile exactly the same grammar.
import type { ConstraintSpec } from "./spec.js";
import { type CompiledGrammar, type GrammarCompiler, loadXGrammar } from "./xgrammar.js";

export type Constraint = Exclude<ConstraintSpec, { case: undefined }>;

/** Any JSON object: what OpenAI's `json_object` response format promises. */
const ANY_OBJECT_SCHEMA = '{"type":"object"}';

export function compileWith(compiler: GrammarCompiler, spec: Constraint): Promise<CompiledGrammar> {
  switch (spec.case) {
    case "jsonObject":
      return compiler.compileJSONSchema(ANY_OBJECT_SCHEMA, false, -1, undefined, false);
    case "jsonSchema":
      // One line with ", " / ": " separators (no runs of whitespace to wander into); XGrammar's strict mode
      // allows no properties or items beyond the schema's (valid instances either way).
      return compiler.compileJSONSchema(spec.value.schema ?? "", false, -1, undefined, true);
    case "regex":
      return compiler.compileStructuralTag({ type: "structural_tag", format: { type: "regex", pattern: spec.value } });
    case "choice":
      // JSON string escapes are also XGrammar EBNF string escapes.
      return compiler.compileGrammar(
        `root ::= ${(spec.value.options ?? []).map((option) => JSON.stringify(option)).join(" | ")}`,
      );
    case "grammar":
      return compiler.compileGrammar(spec.value);
    case "structuralTag":
      return compactSchemas(spec.value).then((tag) => compiler.compileStructuralTag(tag));
  }
}

/**
 * A structural tag whose JSON-schema parts (tool-call arguments) are written like the jsonSchema constraint's:
 * XGrammar's structural tags take no whitespace option and allow any run of blanks between tokens, which a
 * weak or random model fills until max_tokens. Each schema becomes the one-line grammar that constraint uses.
 * A tag that is not JSON goes to XGrammar as it is, which names the problem.
 */
async function compactSchemas(tag: string): Promise<string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(tag);
  } catch {
    return tag;
  }
  const { Grammar } = await loadXGrammar();
  const rewrite = async (node: unknown): Promise<unknown> => {
    if (Array.isArray(node)) return Promise.all(node.map(rewrite));
    if (typeof node !== "object" || node === null) return node;
    const format = node as Record<string, unknown>;
    if (format.type === "json_schema" && format.json_schema !== undefined) {
      const schema = typeof format.json_schema === "string" ? format.json_schema : JSON.stringify(format.json_schema);
      const grammar = await Grammar.fromJSONSchema(schema, false, -1, undefined, true);
      try {
        return { type: "grammar", grammar: grammar.toString() };
      } finally {
        grammar.dispose();
      }
    }
    const entries = await Promise.all(Object.entries(format).map(async ([k, v]) => [k, await rewrite(v)] as const));
    return Object.fromEntries(entries);
  };
  return JSON.stringify(await rewrite(parsed));
}
