// The README's OpenAI-compatible HTTP examples, run as written (curl in bash, the `openai` snippet in node)
// against the six services wired as `npm start` wires them.
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { ensureModel } from "@llm/model-pack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Pipeline, startPipeline } from "./pipeline.js";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const run = promisify(execFile);

let pipeline: Pipeline | undefined;
let url: string;

beforeAll(async () => {
  const model = await ensureModel("demo"); // what `npm start` serves
  const embedding = await ensureModel("embed-tiny");
  pipeline = await startPipeline({ dir: model.dir, id: "demo" }, { dir: embedding.dir, id: "embed-tiny" });
  url = (await pipeline.services.at(-1)?.listening("gateway-http")) ?? "";
}, 180_000);

afterAll(async () => {
  await pipeline?.stop();
});

/** The code blocks of one fence language in the README's "OpenAI-compatible HTTP API" section. */
function readmeBlocks(language: string): string[] {
  const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
  const section = /## OpenAI-compatible HTTP API\n([\s\S]*?)\n## /.exec(readme)?.[1] ?? "";
  return [...section.matchAll(new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\``, "g"))].map((m) => m[1] as string);
}

describe("README: OpenAI-compatible HTTP API", () => {
  it("the curl examples answer a completion and an SSE chat stream", async () => {
    const [shell] = readmeBlocks("sh");
    expect(shell).toMatch(/^export URL=.*endpoints\.json/m);
    // The first line reads `npm start`'s endpoints file; here the pipeline is the test's, so URL is given.
    const commands = (shell as string).replace(/^export URL=.*\n/m, "");
    const { stdout } = await run("bash", ["-euo", "pipefail", "-c", commands], {
      cwd: REPO_ROOT,
      env: { ...process.env, URL: url },
    });
    const at = stdout.indexOf('data: {"id"'); // curl adds no newline after the first answer
    const [completion, stream] = [stdout.slice(0, at), stdout.slice(at)];
    expect(JSON.parse(completion)).toMatchObject({
      object: "text_completion",
      choices: [{ finish_reason: "length" }],
      usage: { completion_tokens: 16 },
    });
    expect(stream).toMatch(/^data: \{"id":"chatcmpl-/);
    expect(stream.trimEnd().endsWith("data: [DONE]")).toBe(true);
  });

  it("the embeddings curl example answers two vectors of the asked width", async () => {
    const [, embeddings] = readmeBlocks("sh");
    const { stdout } = await run("bash", ["-euo", "pipefail", "-c", embeddings as string], {
      cwd: REPO_ROOT,
      env: { ...process.env, URL: url },
    });
    const answer = JSON.parse(stdout);
    expect(answer).toMatchObject({ object: "list", model: "embed-tiny" });
    expect(answer.data.map((d: { embedding: number[] }) => d.embedding.length)).toEqual([64, 64]);
  });

  it("the openai client snippet streams a chat completion", async () => {
    const [snippet] = readmeBlocks("js");
    expect(snippet).toMatch(/from "openai"/);
    // Saved in the repository (under the ignored .cache/) so that `openai` resolves as from the README's chat.mjs.
    const dir = join(REPO_ROOT, ".cache", `readme-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, "chat.mjs");
    writeFileSync(file, snippet as string);
    try {
      const { stdout } = await run(process.execPath, [file], { cwd: REPO_ROOT, env: { ...process.env, URL: url } });
      expect(stdout.length).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
