// Usage: tsx packages/model-pack/src/cli.ts build [--preset <preset>[-gqa|-append]] [--out DIR] [--force]
import { parseArgs } from "node:util";
import { buildModel, modelDir } from "./model-store.js";
import { DEFAULT_PRESET, PRESETS } from "./presets.js";

const USAGE = [
  `usage: cli.ts build [--preset ${Object.keys(PRESETS).join("|")}[-gqa|-append]] [--out DIR] [--force]`,
  "  <preset>-gqa: the same weights, attention by ONNX Runtime's GroupQueryAttention over a shared past/present buffer",
  "  <preset>-append: the same weights, a cache the graph only reads; it outputs the new positions' keys/values",
].join("\n");

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      preset: { type: "string", default: DEFAULT_PRESET },
      out: { type: "string" },
      force: { type: "boolean", default: false },
    },
  });
  if (positionals.length !== 1 || positionals[0] !== "build") throw new Error(USAGE);
  const started = performance.now();
  const model = await buildModel(values.preset, values.out ?? modelDir(values.preset), { force: values.force });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const megabytes = (model.sizeBytes / 1e6).toFixed(1);
  const how = model.built ? `built in ${seconds} s` : "up to date, kept";
  console.log(`${model.dir}  ${megabytes} MB  sha256:${model.fingerprint}  (${how})`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
