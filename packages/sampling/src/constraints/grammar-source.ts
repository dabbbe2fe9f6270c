// Turns a constraint spec into an XGrammar compile call. Shared by the compiler and its time-limit probe so
// both compile exactly the same grammar.
import type { ConstraintSpec } from "./spec.js";
import type { CompiledGrammar, GrammarCompiler } from "./xgrammar.js";

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
      return compiler.compileStructuralTag(spec.value);
  }
}
