// Hugging Face normalizers: text rewrites applied to each span of input between added tokens,
// before pre-tokenization (Llama 2's Prepend("▁") + Replace(" ", "▁"), Gemma's Replace, Qwen's NFC, BERT's).
import { bertNormalizer } from "./bert-normalizer.js";
import { WHITE_SPACE_CLASS_BODY } from "./char-class.js";
import { describe, isObject, listAt, unsupported } from "./json-spec.js";
import { compilePattern } from "./split-regex.js";

export type Normalize = (text: string) => string;

const leadingSpace = new RegExp(`^[${WHITE_SPACE_CLASS_BODY}]+`, "u");
const trailingSpace = new RegExp(`[${WHITE_SPACE_CLASS_BODY}]+$`, "u");

/**
 * The normalizer at `path`, or undefined for none. An empty Sequence is the identity but still a
 * normalizer: Hugging Face then matches `normalized` added tokens after normalization.
 */
export function parseNormalizer(json: unknown, path = "normalizer"): Normalize | undefined {
  if (json === undefined || json === null) return undefined;
  if (!isObject(json)) throw unsupported(path, `normalizer ${describe(json)}`);
  switch (json.type) {
    case "Sequence": {
      const steps = listAt(json, "normalizers", path).map((step, i) =>
        parseNormalizer(step, `${path}.normalizers[${i}]`),
      );
      const defined = steps.filter((step): step is Normalize => step !== undefined);
      return (text) => defined.reduce((out, step) => step(out), text);
    }
    case "NFC":
    case "NFD":
    case "NFKC":
    case "NFKD": {
      const form = json.type;
      return (text) => text.normalize(form);
    }
    case "BertNormalizer":
      return bertNormalizer(json, path);
    case "Lowercase":
      return (text) => text.toLowerCase();
    case "Prepend": {
      if (typeof json.prepend !== "string") throw unsupported(`${path}.prepend`, "expected a string");
      const prefix = json.prepend;
      return (text) => (text.length > 0 ? prefix + text : text); // as `tokenizers`: empty text stays empty
    }
    case "Replace": {
      const pattern = compilePattern(json.pattern, `${path}.pattern`);
      const content = typeof json.content === "string" ? json.content : "";
      return (text) => text.replace(pattern, () => content); // a function: `$` in content is literal
    }
    case "Strip": {
      const left = json.strip_left !== false;
      const right = json.strip_right !== false;
      return (text) => {
        let out = left ? text.replace(leadingSpace, "") : text;
        if (right) out = out.replace(trailingSpace, "");
        return out;
      };
    }
    default:
      throw unsupported(path, `normalizer ${describe(json)}`);
  }
}
