// The GPU check driver: which execution providers start here, whether a GPU provider generates what the CPU
// generates, and how fast each one is, through the project's own engine, model pack and sampler. Bundled into
// one file by bench/gpu/bundle.ts and run by the bundle's run.sh on a machine without Node.js or network;
// `--dry-run` is the same program on this machine's CPU with the tiny model (tests/gpu/bundle.test.ts).
// Usage: check.mjs --out DIR [--work DIR] [--dry-run] [--budget-s 420]
import { mkdir, writeFile } from "node:fs/promises";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { ExecutionProvider } from "@llm/engine";
import * as ort from "onnxruntime-node";
import { buildCheckModel, type CheckModel } from "./models.js";
import { checkParity } from "./parity.js";
import { probeProviders } from "./probe.js";
import { engineSpeed, rawSpeed, timeToFirstToken } from "./speed.js";

const { values } = parseArgs({
  options: {
    out: { type: "string" },
    work: { type: "string" },
    "dry-run": { type: "boolean", default: false },
    "budget-s": { type: "string", default: "420" },
  },
});
if (!values.out) throw new Error("usage: check.mjs --out DIR [--work DIR] [--dry-run] [--budget-s 420]");
const out = values.out;
const work = values.work ?? join(out, "work");
const dryRun = values["dry-run"];
const deadline = performance.now() + Number(values["budget-s"]) * 1000;

const plan = dryRun
  ? { presets: ["tiny", "llama-tiny"], speedPresets: ["tiny"], batches: [1, 8], tokens: 8, parity: [4, 8], ttft: [128] }
  : {
      // The Llama architecture (GQA, RoPE) as llama-tiny and SmolLM2-135M's shape; speed last, the budget permitting.
      presets: ["tiny", "gpt2-small", "llama-tiny", "smollm2-135m"],
      speedPresets: ["gpt2-small", "smollm2-135m"],
      batches: [1, 8, 32, 64, 128],
      tokens: 32,
      parity: [8, 32],
      ttft: [512, 2048],
    };

const results: Record<string, unknown> = {
  startedAt: new Date().toISOString(),
  dryRun,
  machine: {
    node: process.version,
    onnxruntime: ort.env.versions.common,
    cpus: cpus().length,
    memoryBytes: totalmem(),
  },
  skipped: [] as string[],
};
await mkdir(out, { recursive: true });
const save = () => writeFile(join(out, "results.json"), `${JSON.stringify(results, null, 2)}\n`);

/** Runs `work` unless the time budget is spent; a failure is recorded, never fatal to the other checks. */
async function step<T>(name: string, work: () => Promise<T>): Promise<T | undefined> {
  if (performance.now() > deadline) {
    (results.skipped as string[]).push(`${name}: time budget spent`);
    return undefined;
  }
  const started = performance.now();
  try {
    const value = await work();
    console.log(`${name}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return value;
  } catch (error) {
    (results.skipped as string[]).push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
    console.log(`${name}: failed: ${error}`);
    return undefined;
  } finally {
    await save();
  }
}

const models = new Map<string, CheckModel>();
for (const preset of plan.presets) {
  const model = await step(`build ${preset}`, () => buildCheckModel(preset, work));
  if (model) models.set(preset, model);
}
const tiny = models.get("tiny");
if (!tiny) throw new Error("the tiny model did not build");

const probes = (await step("probe", () => probeProviders(tiny))) ?? [];
results.providers = probes;
const started = probes.filter((p) => p.started && p.provider !== "cpu").map((p) => p.provider);
// With no GPU provider (this machine, a dry run) the CPU stands in as the device, so every path still runs.
const devices: ExecutionProvider[] = started.length > 0 ? started : ["cpu"];
results.devices = devices;

const parity: unknown[] = [];
results.parity = parity;
for (const model of models.values())
  for (const device of devices) {
    const result = await step(`parity ${model.preset} ${device}`, () =>
      checkParity(model, device, plan.parity[0], plan.parity[1]),
    );
    if (result) parity.push(result);
  }

const speed: unknown[] = [];
results.speed = speed;
const providers: ExecutionProvider[] = [...new Set<ExecutionProvider>([...devices, "cpu"])];
for (const preset of plan.speedPresets) {
  const model = models.get(preset);
  if (!model) continue;
  for (const provider of providers) {
    const entry = {
      preset,
      provider,
      raw: [] as unknown[],
      rawKvOnDevice: [] as unknown[],
      engine: [] as unknown[],
      ttft: [] as unknown[],
    };
    speed.push(entry);
    for (const batch of plan.batches) {
      const raw = await step(`raw ${preset} ${provider} b${batch}`, () =>
        rawSpeed(model, provider, batch, plan.tokens),
      );
      if (raw) entry.raw.push(raw);
      if (provider === "webgpu") {
        const onDevice = await step(`raw ${preset} ${provider} b${batch} kv-on-device`, () =>
          rawSpeed(model, provider, batch, plan.tokens, true),
        );
        if (onDevice) entry.rawKvOnDevice.push(onDevice);
      }
      const engine = await step(`engine ${preset} ${provider} b${batch}`, () =>
        engineSpeed(model, provider, batch, plan.tokens),
      );
      if (engine) entry.engine.push(engine);
    }
    for (const length of plan.ttft) {
      const ttft = await step(`ttft ${preset} ${provider} ${length}`, () => timeToFirstToken(model, provider, length));
      if (ttft) entry.ttft.push(ttft);
    }
  }
}
results.finishedAt = new Date().toISOString();
await save();
console.log(`results: ${join(out, "results.json")}`);
