// `dimensions` is for models trained to be shortened (Matryoshka): a folder that declares it (config.json's
// matryoshka_dimensions, or a model-card tag) may be asked for fewer values; any other is refused with a clear
// INVALID_ARGUMENT, except for its full width. Real embed-tiny folders, copied and edited.
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { LlmError } from "@llm/errors";
import { silentLog } from "@llm/log";
import { ensureModel } from "@llm/model-pack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Embedder, EncoderModel } from "../src/index.js";

const LIMITS = { maxBatchTokens: 512, maxBatchInputs: 16, maxInputs: 100 };
let source: string;
let scratch: string;
const loaded: EncoderModel[] = [];

beforeAll(async () => {
  const dir = fileURLToPath(new URL("../../../.cache/model-pack-test/embed-tiny", import.meta.url));
  source = (await ensureModel("embed-tiny", dir)).dir;
  scratch = await mkdtemp(join(tmpdir(), "matryoshka-"));
});

afterAll(async () => {
  for (const model of loaded) await model.close();
  await rm(scratch, { recursive: true, force: true });
});

/** embed-tiny without matryoshka_dimensions in its config, with `card` as its README.md when given. */
async function variant(name: string, card?: string): Promise<Embedder> {
  const dir = join(scratch, name);
  await cp(source, dir, { recursive: true });
  const config = JSON.parse(await readFile(join(dir, "config.json"), "utf8"));
  delete config.matryoshka_dimensions;
  await writeFile(join(dir, "config.json"), JSON.stringify(config));
  if (card !== undefined) await writeFile(join(dir, "README.md"), card);
  return load(dir);
}

async function load(dir: string): Promise<Embedder> {
  const model = await EncoderModel.load("m", dir, { providers: ["cpu"], intraOpThreads: 1, log: silentLog });
  loaded.push(model);
  return new Embedder(model, LIMITS);
}

describe("dimensions gated by the model's Matryoshka declaration", () => {
  it("embed-tiny declares it (config.json matryoshka_dimensions): 32 of its 128 values, re-normalized", async () => {
    const embedder = await load(source);
    expect(embedder.info.matryoshka).toBe(true);
    const [short] = (await embedder.embed(["hello"], { dimensions: 32 })).embeddings;
    expect(short).toHaveLength(32);
    expect(Math.hypot(...short)).toBeCloseTo(1, 5);
  });

  it("a model that does not declare it: a shorter width is refused, its full width is fine", async () => {
    const embedder = await variant("plain");
    expect(embedder.info.matryoshka).toBe(false);
    const error = await embedder.embed(["hello"], { dimensions: 32 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LlmError);
    expect(error).toMatchObject({ code: "invalid_argument", details: { field: "dimensions" } });
    expect((error as LlmError).message).toContain('model "m" does not declare Matryoshka training');
    expect((error as LlmError).message).toContain("set it to 128");
    const [full] = (await embedder.embed(["hello"], { dimensions: 128 })).embeddings;
    const [plain] = (await embedder.embed(["hello"])).embeddings;
    expect(full).toEqual(plain);
  });

  it.each([
    {
      name: "a sentence-transformers card's loss tag",
      declared: true,
      card: "---\ntags:\n- loss:MatryoshkaLoss\n---\n",
    },
    { name: "a plain matryoshka tag (quoted)", declared: true, card: '---\ntags:\n  - "matryoshka"\n---\n# Card\n' },
    { name: "the word only in its prose", declared: false, card: "---\ntags:\n- x\n---\nNot matryoshka.\n" },
    { name: "no front matter", declared: false, card: "- matryoshka\n" },
  ])("a model card with $name: declared $declared", async ({ name, declared, card }) => {
    const embedder = await variant(name.replace(/\W+/g, "-"), card);
    expect(embedder.info.matryoshka).toBe(declared);
    const answer = await embedder.embed(["hello"], { dimensions: 16 }).catch((e: unknown) => e);
    if (declared) expect((answer as { embeddings: Float32Array[] }).embeddings[0]).toHaveLength(16);
    else expect(answer).toMatchObject({ code: "invalid_argument" });
  });
});
