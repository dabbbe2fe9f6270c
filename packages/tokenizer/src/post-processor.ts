// The post-processor: the special tokens Hugging Face puts around one encoded text when
// `add_special_tokens` is true (Llama 3's and Gemma's BOS). Only single texts are encoded here, so
// a template reduces to the ids before and after the text.
import { describe, isObject, type Json, listAt, unsupported } from "./json-spec.js";

export interface SpecialTokensAround {
  prefix: number[];
  suffix: number[];
}

/** `idOf` resolves a token string (Roberta/Bert processors name tokens by content and id). */
export function parsePostProcessor(json: unknown, path = "post_processor"): SpecialTokensAround {
  if (json === undefined || json === null) return { prefix: [], suffix: [] };
  if (!isObject(json)) throw unsupported(path, `post-processor ${describe(json)}`);
  switch (json.type) {
    case "ByteLevel": // only trims offsets, which this library does not report
      return { prefix: [], suffix: [] };
    case "TemplateProcessing":
      return template(json, path);
    case "BertProcessing":
    case "RobertaProcessing":
      return { prefix: [tokenPairId(json.cls, `${path}.cls`)], suffix: [tokenPairId(json.sep, `${path}.sep`)] };
    case "Sequence":
      // Each processor wraps the output of the ones before it.
      return listAt(json, "processors", path).reduce<SpecialTokensAround>(
        (inner, step, i) => {
          const outer = parsePostProcessor(step, `${path}.processors[${i}]`);
          return { prefix: [...outer.prefix, ...inner.prefix], suffix: [...inner.suffix, ...outer.suffix] };
        },
        { prefix: [], suffix: [] },
      );
    default:
      throw unsupported(path, `post-processor ${describe(json)}`);
  }
}

function template(json: Json, path: string): SpecialTokensAround {
  const specials = isObject(json.special_tokens) ? json.special_tokens : {};
  const around: SpecialTokensAround = { prefix: [], suffix: [] };
  let seenText = false;
  listAt(json, "single", path).forEach((item, i) => {
    const itemPath = `${path}.single[${i}]`;
    if (isObject(item) && isObject(item.Sequence) && item.Sequence.id === "A" && !seenText) {
      seenText = true;
    } else if (isObject(item) && isObject(item.SpecialToken) && typeof item.SpecialToken.id === "string") {
      const name = item.SpecialToken.id;
      const entry = specials[name];
      if (!isObject(entry) || !Array.isArray(entry.ids) || !entry.ids.every((id) => Number.isInteger(id))) {
        throw unsupported(`${path}.special_tokens`, `no ids for ${JSON.stringify(name)}`);
      }
      (seenText ? around.suffix : around.prefix).push(...(entry.ids as number[]));
    } else {
      throw unsupported(itemPath, `template item ${JSON.stringify(item)}`);
    }
  });
  if (!seenText) throw unsupported(`${path}.single`, "the template has no Sequence A");
  return around;
}

/** Bert/Roberta processors write tokens as `[content, id]`. */
function tokenPairId(pair: unknown, path: string): number {
  if (Array.isArray(pair) && pair.length === 2 && Number.isInteger(pair[1])) return pair[1] as number;
  throw unsupported(path, `expected [token, id], got ${JSON.stringify(pair)}`);
}
