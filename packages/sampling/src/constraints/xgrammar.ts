// Loads XGrammar's npm build (@mlc-ai/web-xgrammar, an emscripten UMD bundle made for browsers) into Node.
// Its package says "type": "module" but the bundle is a UMD script that needs CommonJS `require` and
// `__filename`; importing it gives an empty namespace under some loaders (tsx in a worker). So it is run as
// what it is: a CommonJS module, in Node's own module wrapper, with its exports object given to it.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { constants, runInThisContext } from "node:vm";
import type * as XGrammar from "@mlc-ai/web-xgrammar";

export type XGrammarApi = typeof XGrammar;
export type { CompiledGrammar, GrammarCompiler, GrammarMatcher, TokenizerInfo } from "@mlc-ai/web-xgrammar";

let api: XGrammarApi | undefined;

/** The XGrammar API, loaded once per thread; its WebAssembly instance starts on the first call into it. */
export async function loadXGrammar(): Promise<XGrammarApi> {
  if (api) return api;
  const require = createRequire(import.meta.url);
  const entry = require.resolve("@mlc-ai/web-xgrammar");
  const wrapper = runInThisContext(
    `(function (exports, require, module, __filename, __dirname) {${readFileSync(entry, "utf8")}\n})`,
    {
      filename: entry,
      importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER, // it imports("module") for createRequire
    },
  ) as (...args: unknown[]) => void;
  const module = { exports: {} as Record<string, unknown> };
  wrapper(module.exports, createRequire(entry), module, entry, dirname(entry));
  if (typeof module.exports.GrammarCompiler !== "function") {
    throw new Error("@mlc-ai/web-xgrammar did not export GrammarCompiler: an unexpected build");
  }
  api = module.exports as unknown as XGrammarApi;
  return api;
}
