// BERT's normalizer, as Hugging Face `tokenizers` (and Google's original BasicTokenizer) apply it:
// control characters dropped and white space made a plain space, spaces put around CJK ideographs,
// accents stripped (NFD, then nonspacing marks removed) and the text lowercased.
import { WHITE_SPACE_CLASS_BODY } from "./char-class.js";
import { type Json, unsupported } from "./json-spec.js";

// Unicode category C (control, format, private use, unassigned) but the three that count as white space.
const CONTROL = /[^\P{C}\t\n\r]/gu;
const WHITE_SPACE = new RegExp(`[${WHITE_SPACE_CLASS_BODY}]`, "gu");
// The CJK Unified Ideographs blocks and their extensions, by code point (astral ones included).
const CJK =
  /[\u{4E00}-\u{9FFF}\u{3400}-\u{4DBF}\u{20000}-\u{2A6DF}\u{2A700}-\u{2B73F}\u{2B740}-\u{2B81F}\u{2B920}-\u{2CEAF}\u{F900}-\u{FAFF}\u{2F800}-\u{2FA1F}]/gu;
const NONSPACING_MARK = /\p{Mn}/gu;

export function bertNormalizer(json: Json, path: string): (text: string) => string {
  const flag = (key: string, fallback: boolean): boolean => {
    const value = json[key];
    if (value === undefined || value === null) return fallback;
    if (typeof value !== "boolean")
      throw unsupported(`${path}.${key}`, `expected true or false, got ${JSON.stringify(value)}`);
    return value;
  };
  const cleanText = flag("clean_text", true);
  const chineseChars = flag("handle_chinese_chars", true);
  const lowercase = flag("lowercase", true);
  const stripAccents = flag("strip_accents", lowercase); // unset: follows lowercase, as `tokenizers`
  return (text) => {
    let out = text;
    if (cleanText) out = out.replace(CONTROL, "").replaceAll("\uFFFD", "").replace(WHITE_SPACE, " ");
    if (chineseChars) out = out.replace(CJK, (char) => ` ${char} `);
    if (stripAccents) out = out.normalize("NFD").replace(NONSPACING_MARK, "");
    return lowercase ? out.toLowerCase() : out;
  };
}
