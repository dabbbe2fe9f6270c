// Hugging Face decoders, reduced to what they do to each token plus what they do to the start of
// the text. Every supported chain is per-token up to Fuse (ByteLevel's byte alphabet, Replace,
// ByteFallback's `<0xNN>` tokens), so a token's bytes can be computed once at load and decoding is a
// byte concatenation (one UTF-8 decode makes a byte-fallback run one character); Strip after Fuse
// and Metaspace's first-space rule then trim the start of the text.
import { byteLevelToBytes } from "./byte-level.js";
import { describe, isObject, listAt, unsupported } from "./json-spec.js";
import { compilePattern, escapeRegExp } from "./split-regex.js";

export interface DecoderSpec {
  /** Tokens spell bytes with GPT-2's byte alphabet. */
  byteLevel: boolean;
  /** The bytes a vocabulary token string stands for. */
  tokenBytes(token: string): Uint8Array;
  /** Up to `count` leading `char`s are removed from the decoded text (Strip, Metaspace). */
  stripStart: { char: string; count: number } | undefined;
}

const utf8 = new TextEncoder();
const BYTE_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;

export function parseDecoder(json: unknown, byteLevelInput: boolean, path = "decoder"): DecoderSpec {
  if (json === undefined || json === null) {
    if (byteLevelInput) return byteLevelDecoder();
    throw unsupported(path, "no decoder for a vocabulary that is not byte-level (tokens would be joined with spaces)");
  }
  if (!isObject(json)) throw unsupported(path, `decoder ${describe(json)}`);
  const steps =
    json.type === "Sequence"
      ? listAt(json, "decoders", path).map((step, i) => ({ step, path: `${path}.decoders[${i}]` }))
      : [{ step: json as unknown, path }];
  if (steps.length === 1 && isObject(steps[0].step) && steps[0].step.type === "ByteLevel") return byteLevelDecoder();
  if (steps.length === 1 && isObject(steps[0].step) && steps[0].step.type === "WordPiece") {
    return wordPieceDecoder(steps[0].step, steps[0].path);
  }

  const replacements: { pattern: RegExp; content: string }[] = [];
  let byteFallback = false;
  let fused = false;
  let stripStart: DecoderSpec["stripStart"];
  for (const { step, path: stepPath } of steps) {
    if (!isObject(step)) throw unsupported(stepPath, `decoder ${describe(step)}`);
    const perToken = step.type === "Replace" || step.type === "Metaspace" || step.type === "ByteFallback";
    if (perToken && (fused || byteFallback)) {
      throw unsupported(stepPath, `${step.type} after ByteFallback or Fuse is not supported`);
    }
    switch (step.type) {
      case "Replace":
        replacements.push({
          pattern: compilePattern(step.pattern, `${stepPath}.pattern`),
          content: typeof step.content === "string" ? step.content : "",
        });
        break;
      case "Metaspace": {
        const replacement = typeof step.replacement === "string" ? step.replacement : "▁";
        replacements.push({ pattern: new RegExp(escapeRegExp(replacement), "gu"), content: " " });
        // The first token loses the space its `▁` stands for, unless nothing was prepended at encode time.
        if (step.prepend_scheme !== "never" && step.add_prefix_space !== false) stripStart = { char: " ", count: 1 };
        break;
      }
      case "ByteFallback":
        byteFallback = true;
        break;
      case "Fuse":
        fused = true;
        break;
      case "Strip":
        stripStart = parseStrip(step, stepPath, fused);
        break;
      default:
        throw unsupported(
          stepPath,
          `decoder ${describe(step)}${step.type === "ByteLevel" ? " inside a Sequence" : ""}`,
        );
    }
  }
  return {
    byteLevel: false,
    tokenBytes(token) {
      const text = replacements.reduce((out, { pattern, content }) => out.replace(pattern, () => content), token);
      const byte = byteFallback ? BYTE_TOKEN.exec(text) : null;
      return byte === null ? utf8.encode(text) : Uint8Array.of(Number.parseInt(byte[1], 16));
    },
    stripStart,
  };
}

function byteLevelDecoder(): DecoderSpec {
  return {
    byteLevel: true,
    tokenBytes: (token) => byteLevelToBytes(token) ?? utf8.encode(token),
    stripStart: undefined,
  };
}

/**
 * WordPiece joins tokens with spaces except before continuation pieces ("##ing"): as bytes, a word-start
 * token is " " + its text and the text's first space is stripped. Its `cleanup` is the tokenization-space
 * clean-up, which `DecodeRules` applies when tokenizer_config.json asks for it.
 */
function wordPieceDecoder(step: Record<string, unknown>, path: string): DecoderSpec {
  const prefix = step.prefix ?? "##";
  if (typeof prefix !== "string")
    throw unsupported(`${path}.prefix`, `expected a string, got ${JSON.stringify(prefix)}`);
  return {
    byteLevel: false,
    tokenBytes: (token) => utf8.encode(token.startsWith(prefix) ? token.slice(prefix.length) : ` ${token}`),
    stripStart: { char: " ", count: 1 },
  };
}

function parseStrip(step: Record<string, unknown>, path: string, fused: boolean): DecoderSpec["stripStart"] {
  const { content, start, stop } = step;
  if (!fused) throw unsupported(path, "Strip before Fuse (a per-token strip) is not supported");
  if (stop !== undefined && stop !== 0) throw unsupported(`${path}.stop`, `Strip stop ${JSON.stringify(stop)}`);
  if (typeof content !== "string" || content.length !== 1) {
    throw unsupported(`${path}.content`, `expected one character, got ${JSON.stringify(content)}`);
  }
  if (!Number.isInteger(start) || (start as number) < 0) throw unsupported(`${path}.start`, JSON.stringify(start));
  return (start as number) === 0 ? undefined : { char: content, count: start as number };
}
