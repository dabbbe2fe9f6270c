// Building model folders on disk, finding them, and telling whether one is up to date.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { modelFiles } from "./model-files.js";
import { DEFAULT_PRESET, type ModelPreset, presetByName } from "./presets.js";
import { presetRecipe } from "./recipe.js";

/** Written last into a built folder: which preset it holds and the fingerprint its files had when built. */
export const STAMP_FILE = "model-pack.json";

export interface BuiltModel {
  dir: string;
  preset: string;
  /** sha256 over the folder's files (see `modelFingerprint`). */
  fingerprint: string;
  sizeBytes: number;
  /** false when an up-to-date folder was already there. */
  built: boolean;
}

interface Stamp {
  preset: string;
  seed: number;
  /** See `presetRecipe`. */
  recipe: string;
  fingerprint: string;
}

const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** Default home of a preset's folder: `models/<preset>` at the repository root (gitignored). */
export function modelDir(preset: string = DEFAULT_PRESET): string {
  return join(REPO_ROOT, "models", presetByName(preset).name);
}

/** Returns the folder for `preset`, building it first unless it is already there and intact. */
export async function ensureModel(
  preset: string = DEFAULT_PRESET,
  dir: string = modelDir(preset),
): Promise<BuiltModel> {
  return buildModel(preset, dir, { force: false });
}

/**
 * Writes the preset's model folder. The bytes depend only on the preset and the generator, so an existing
 * folder whose stamp names the same preset, seed and generator recipe, and whose files still hash to the
 * stamped fingerprint, is kept as it is unless `force` is set.
 */
export async function buildModel(preset: string, dir: string, { force = false } = {}): Promise<BuiltModel> {
  const spec = presetByName(preset);
  const target = resolve(dir);
  if (!force) {
    const existing = await upToDate(spec, target);
    if (existing) return existing;
  }
  // Write into a sibling folder and rename it into place, so a reader never sees a half-written model.
  const partial = `${target}.partial-${process.pid}-${Date.now()}`;
  try {
    await writeFolder(spec, partial);
    await moveIntoPlace(spec, partial, target, force);
  } catch (error) {
    throw new Error(`Could not build model "${preset}" into ${target}: ${(error as Error).message}`);
  } finally {
    await rm(partial, { recursive: true, force: true });
  }
  const { fingerprint, sizeBytes } = await fingerprintFolder(target);
  return { dir: target, preset: spec.name, fingerprint, sizeBytes, built: true };
}

/**
 * A stable content hash of a model folder: sha256 over `sha256sum`-style lines ("<file sha256>  <path>")
 * of every file in it, sorted by path (the stamp file excluded). Works for any Hugging Face model folder.
 */
export async function modelFingerprint(dir: string): Promise<string> {
  return (await fingerprintFolder(dir)).fingerprint;
}

async function writeFolder(spec: ModelPreset, dir: string): Promise<void> {
  const files = modelFiles(spec);
  for (const [path, bytes] of files) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), bytes);
  }
  const { fingerprint } = await fingerprintFolder(dir);
  const stamp: Stamp = { preset: spec.name, seed: spec.seed, recipe: presetRecipe(spec), fingerprint };
  await writeFile(join(dir, STAMP_FILE), `${JSON.stringify(stamp, null, 2)}\n`);
}

/**
 * Renames `partial` to `target`. A target that appeared meanwhile (a concurrent build of the same preset)
 * is kept if it is up to date, since readers may already use it; a stale one, or any under `force`, is replaced.
 */
async function moveIntoPlace(spec: ModelPreset, partial: string, target: string, force: boolean): Promise<void> {
  try {
    await rename(partial, target);
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "ENOTEMPTY" && code !== "EEXIST") throw error;
  }
  if (!force && (await upToDate(spec, target))) return;
  await rm(target, { recursive: true, force: true });
  await rename(partial, target);
}

async function upToDate(spec: ModelPreset, dir: string): Promise<BuiltModel | undefined> {
  let stamp: Stamp;
  try {
    stamp = JSON.parse(await readFile(join(dir, STAMP_FILE), "utf8")) as Stamp;
  } catch {
    return undefined; // missing or unreadable: build
  }
  if (stamp.preset !== spec.name || stamp.seed !== spec.seed || stamp.recipe !== presetRecipe(spec)) {
    return undefined;
  }
  const { fingerprint, sizeBytes } = await fingerprintFolder(dir);
  if (fingerprint !== stamp.fingerprint) return undefined;
  return { dir, preset: spec.name, fingerprint, sizeBytes, built: false };
}

async function fingerprintFolder(dir: string): Promise<{ fingerprint: string; sizeBytes: number }> {
  const paths = (await listFiles(dir)).filter((path) => path !== STAMP_FILE).sort();
  const lines: string[] = [];
  let sizeBytes = 0;
  for (const path of paths) {
    lines.push(`${await sha256File(join(dir, path))}  ${path}\n`);
    sizeBytes += (await stat(join(dir, path))).size;
  }
  return { fingerprint: createHash("sha256").update(lines.join("")).digest("hex"), sizeBytes };
}

/** Paths relative to `dir`, with "/" separators on every platform. */
async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split(sep).join("/"));
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
