export { TokenizerCatalog, type TokenizerCatalogOptions } from "./catalog.js";
export type { ChatMessage, ChatTemplateOptions, ToolCallSyntax } from "./chat-template.js";
export { DecodedTextStream, type DecodeRules } from "./decode-rules.js";
export {
  DEFAULT_MAX_INPUT_BYTES,
  type DecodeOptions,
  type EncodeOptions,
  Tokenizer,
  type TokenizerOptions,
} from "./tokenizer.js";
