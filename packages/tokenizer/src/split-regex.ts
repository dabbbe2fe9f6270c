// Hugging Face `Split` pre-tokenizer patterns are Oniguruma regexes. The ones byte-level models ship
// (Llama-3, Qwen2, GPT-4-style) run in JavaScript after two rewrites: `(?i:...)` groups (not in
// Node 20's RegExp) become case-insensitive character classes, and `\s`/`\S` become Unicode
// White_Space so every pre-tokenizer here agrees with `tokenizers` and tiktoken.
import { WHITE_SPACE_CLASS_BODY } from "./char-class.js";
import { isObject, unsupported } from "./json-spec.js";

/** A `{ "String": ... }` or `{ "Regex": ... }` pattern (Split, Replace) as a global RegExp. */
export function compilePattern(pattern: unknown, path: string): RegExp {
  if (isObject(pattern) && typeof pattern.Regex === "string") return compileSplitPattern(pattern.Regex, path);
  if (isObject(pattern) && typeof pattern.String === "string" && pattern.String !== "") {
    return compileSplitLiteral(pattern.String);
  }
  throw unsupported(path, `pattern ${JSON.stringify(pattern)} is neither a non-empty String nor a Regex`);
}

/** Compiles an Oniguruma `Split` pattern to a global Unicode JavaScript RegExp. */
export function compileSplitPattern(pattern: string, path = "pattern"): RegExp {
  const source = rewriteWhiteSpace(rewriteCaseInsensitiveGroups(pattern));
  try {
    return new RegExp(source, "gu");
  } catch (err) {
    throw unsupported(path, `regex ${JSON.stringify(pattern)} does not compile: ${(err as Error).message}`);
  }
}

/** A literal `Split` pattern (`{ "String": ... }`) as a RegExp. */
export function compileSplitLiteral(literal: string): RegExp {
  return new RegExp(escapeRegExp(literal), "gu");
}

/** `literal` as a pattern that matches exactly it (Unicode-mode regexes only allow escaping syntax characters). */
export function escapeRegExp(literal: string): string {
  return literal.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/** `(?i:'s|'t)` → `(?:'[sS]|'[tT])`; only literal groups (no classes or escapes inside) are supported. */
function rewriteCaseInsensitiveGroups(pattern: string): string {
  return pattern.replace(/\(\?i:([^()[\]\\]*)\)/g, (_group, body: string) => {
    const folded = body.replace(/[a-zA-Z]/g, (letter) => `[${letter.toLowerCase()}${letter.toUpperCase()}]`);
    return `(?:${folded})`;
  });
}

/** `\s` → White_Space (inside or outside a class); `\S` outside a class → its negation. */
function rewriteWhiteSpace(pattern: string): string {
  let out = "";
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i];
    if (char === "\\" && i + 1 < pattern.length) {
      const escaped = pattern[++i];
      if (escaped === "s") out += inClass ? WHITE_SPACE_CLASS_BODY : `[${WHITE_SPACE_CLASS_BODY}]`;
      else if (escaped === "S" && !inClass) out += `[^${WHITE_SPACE_CLASS_BODY}]`;
      else out += `\\${escaped}`;
      continue;
    }
    if (char === "[") inClass = true;
    else if (char === "]") inClass = false;
    out += char;
  }
  return out;
}
