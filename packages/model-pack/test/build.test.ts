// Building model folders: byte-identical rebuilds, the Hugging Face layout, and keep-or-rebuild decisions.
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { buildModel, ensureModel, modelDir, modelFingerprint, ONNX_MODEL_PATH, STAMP_FILE } from "../src/index.js";
import { openSession, sha256, TINY } from "./helpers.js";

const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "model-pack-build-"));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe("buildModel", () => {
  test("two builds write identical bytes", async () => {
    const [a, b] = [join(scratch, "a"), join(scratch, "b")];
    const started = performance.now();
    const first = await buildModel("tiny", a, { force: true });
    const buildMs = performance.now() - started;
    const second = await buildModel("tiny", b, { force: true });
    const onnxSha = await sha256(join(a, ONNX_MODEL_PATH));
    console.log(
      `tiny build: ${buildMs.toFixed(0)} ms, ${(first.sizeBytes / 1e6).toFixed(1)} MB, ` +
        `model.onnx sha256 ${onnxSha}, folder fingerprint ${first.fingerprint}`,
    );
    expect(second.fingerprint).toBe(first.fingerprint);
    expect(await sha256(join(b, ONNX_MODEL_PATH))).toBe(onnxSha);
    expect(await modelFingerprint(b)).toBe(first.fingerprint);
  });

  test("writes the Hugging Face layout with GPT-2's config and the declared cache shapes", async () => {
    const dir = join(scratch, "layout");
    await buildModel("tiny", dir);
    const config = JSON.parse(await readFile(join(dir, "config.json"), "utf8"));
    const { nLayer, nHead, nEmbd, nPositions } = TINY.shape;
    expect(config).toMatchObject({ model_type: "gpt2", n_layer: nLayer, n_head: nHead, n_embd: nEmbd });
    expect(config).toMatchObject({
      n_positions: nPositions,
      vocab_size: 50257,
      bos_token_id: 50256,
      eos_token_id: 50256,
    });
    const generation = JSON.parse(await readFile(join(dir, "generation_config.json"), "utf8"));
    expect(generation).toMatchObject({ bos_token_id: 50256, eos_token_id: 50256 });
    const tokenizerConfig = JSON.parse(await readFile(join(dir, "tokenizer_config.json"), "utf8"));
    expect(tokenizerConfig.tokenizer_class).toBe("GPT2Tokenizer");
    const tokenizer = JSON.parse(await readFile(join(dir, "tokenizer.json"), "utf8"));
    expect(Object.keys(tokenizer.model.vocab)).toHaveLength(50257);

    const session = await openSession(dir);
    const meta = (name: string) => session.inputMetadata.find((m) => m.name === name);
    expect(meta("past_key_values.0.key")).toMatchObject({
      type: "float32",
      shape: ["batch_size", nHead, "past_sequence_length", nEmbd / nHead],
    });
    expect(meta("attention_mask")).toMatchObject({
      type: "int64",
      shape: ["batch_size", "past_sequence_length + sequence_length"],
    });
    expect(meta("num_logits_to_keep")).toMatchObject({ type: "int64", shape: [] });
    expect(session.outputNames).toEqual([
      "logits",
      ...Array.from({ length: nLayer }, (_, i) => [`present.${i}.key`, `present.${i}.value`]).flat(),
    ]);
    await session.release();
  });

  test("ensureModel keeps an intact folder and rebuilds a damaged one", async () => {
    const dir = join(scratch, "ensure");
    const built = await ensureModel("tiny", dir);
    expect(built.built).toBe(true);
    const kept = await ensureModel("tiny", dir);
    expect(kept).toMatchObject({ built: false, fingerprint: built.fingerprint });

    await writeFile(join(dir, "generation_config.json"), "{}\n");
    const repaired = await ensureModel("tiny", dir);
    expect(repaired).toMatchObject({ built: true, fingerprint: built.fingerprint });

    await rm(join(dir, STAMP_FILE));
    expect((await ensureModel("tiny", dir)).built).toBe(true);
  });

  test("concurrent builds into one folder both succeed and leave one intact model", async () => {
    const dir = join(scratch, "concurrent");
    const [a, b] = await Promise.all([ensureModel("tiny", dir), ensureModel("tiny", dir)]);
    expect(b.fingerprint).toBe(a.fingerprint);
    expect(await modelFingerprint(dir)).toBe(a.fingerprint);
    expect((await readdir(scratch)).filter((name) => name.startsWith("concurrent"))).toEqual(["concurrent"]);
  });

  test("rejects an unknown preset with the known ones in the message", async () => {
    await expect(buildModel("gpt5", join(scratch, "nope"))).rejects.toThrow(/demo, demo-draft, tiny, gpt2-small/);
    expect(() => modelDir("gpt5")).toThrow(/Unknown model preset "gpt5"/);
  });

  test("modelDir defaults to models/<preset> at the repository root", () => {
    expect(modelDir("tiny")).toBe(join(REPO_ROOT, "models", "tiny"));
    expect(modelDir()).toBe(modelDir("demo")); // the bundled default: the trained demo model
  });
});

describe("cli build", () => {
  const cli = (...args: string[]) =>
    promisify(execFile)(process.execPath, ["--import", "tsx", "packages/model-pack/src/cli.ts", ...args], {
      cwd: REPO_ROOT,
    });

  test("prints one line with path, size and fingerprint, and skips an up-to-date folder unless forced", async () => {
    const out = join(scratch, "cli");
    const line = (text: string) => text.trim().split("\n");
    const first = line((await cli("build", "--preset", "tiny", "--out", out)).stdout);
    const fingerprint = await modelFingerprint(out);
    expect(first).toHaveLength(1);
    expect(first[0]).toMatch(new RegExp(`^${out}  \\d+\\.\\d MB  sha256:${fingerprint}  \\(built in`));
    expect((await cli("build", "--preset", "tiny", "--out", out)).stdout).toMatch(/up to date, kept/);
    expect((await cli("build", "--preset", "tiny", "--out", out, "--force")).stdout).toMatch(/built in/);
  });

  test("fails with usage on a bad command line", async () => {
    await expect(cli("bake")).rejects.toMatchObject({ stderr: expect.stringMatching(/usage: cli.ts build/) });
  });
});
