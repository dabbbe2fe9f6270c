// Every pooling mode against transformers.js on the same encoder: embed-tiny's folder copied with another
// sentence-transformers pooling config (and with or without its Normalize module). transformers.js pools CLS and
// last token itself (one input at a time: its last-token pooling reads padding in a right-padded batch); max
// pooling is taken from its token vectors (`pooling: "none"`). Ours runs all inputs in one request, batched.
import { cp, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { env, pipeline } from "@huggingface/transformers";
import { silentLog } from "@llm/log";
import { ensureModel, MODULES_PATH, POOLING_CONFIG_PATH } from "@llm/model-pack";
import { describe, expect, it } from "vitest";
import { Embedder, EncoderModel, type PoolingMode } from "../src/index.js";

const INPUTS = ["hello", "The quick brown fox jumps over the lazy dog.", "Crème brûlée 我爱北京", "a b c d e f g"];
const KEYS: Record<PoolingMode, string> = {
  mean: "pooling_mode_mean_tokens",
  cls: "pooling_mode_cls_token",
  max: "pooling_mode_max_tokens",
  lasttoken: "pooling_mode_lasttoken",
};

/** embed-tiny with `mode` pooling, normalized or not, in a fresh folder. */
async function variant(mode: PoolingMode, normalize: boolean): Promise<string> {
  const source = await ensureModel(
    "embed-tiny",
    fileURLToPath(new URL("../../../.cache/model-pack-test/embed-tiny", import.meta.url)),
  );
  const dir = join(await mkdtemp(join(tmpdir(), "llm-pooling-")), `embed-${mode}`);
  await cp(source.dir, dir, { recursive: true });
  const config = JSON.parse(await readFile(join(dir, POOLING_CONFIG_PATH), "utf8"));
  for (const key of Object.values(KEYS)) config[key] = false;
  config[KEYS[mode]] = true;
  await writeFile(join(dir, POOLING_CONFIG_PATH), JSON.stringify(config));
  const modules = JSON.parse(await readFile(join(dir, MODULES_PATH), "utf8")) as { type: string }[];
  await writeFile(
    join(dir, MODULES_PATH),
    JSON.stringify(modules.filter((m) => normalize || !m.type.endsWith("Normalize"))),
  );
  return dir;
}

async function peerVectors(dir: string, mode: PoolingMode, normalize: boolean): Promise<number[][]> {
  env.allowRemoteModels = false;
  env.localModelPath = join(dir, "..");
  const extractor = await pipeline("feature-extraction", `embed-${mode}`, { dtype: "fp32", device: "cpu" });
  const vectors: number[][] = [];
  for (const input of INPUTS) {
    if (mode === "max") {
      const tokens = (await extractor([input], { pooling: "none" })).tolist()[0] as number[][];
      const max = tokens[0].map((_, d) => Math.max(...tokens.map((row) => row[d])));
      const norm = normalize ? Math.hypot(...max) : 1;
      vectors.push(max.map((v) => v / norm));
    } else {
      const pooling = mode === "lasttoken" ? "last_token" : mode;
      vectors.push((await extractor([input], { pooling, normalize })).tolist()[0] as number[]);
    }
  }
  return vectors;
}

describe("pooling modes vs transformers.js", () => {
  it.each([
    ["mean", false],
    ["cls", true],
    ["max", false],
    ["lasttoken", true],
  ] as const)("%s (normalize %s)", async (mode, normalize) => {
    const dir = await variant(mode, normalize);
    const model = await EncoderModel.load("v", dir, { providers: ["cpu"], intraOpThreads: 1, log: silentLog });
    expect(model.info).toMatchObject({ pooling: mode, normalize });
    const embedder = new Embedder(model, { maxBatchTokens: 4096, maxBatchInputs: 16, maxInputs: 16 });
    const ours = (await embedder.embed(INPUTS)).embeddings;
    const expected = await peerVectors(dir, mode, normalize);
    const diff = Math.max(...ours.flatMap((vector, i) => Array.from(vector, (v, d) => Math.abs(v - expected[i][d]))));
    expect(diff).toBeLessThanOrEqual(1e-4);
    await model.close();
  });
});
