// The model-runner's memory under 64 streams of 512 tokens (256 prompt + 256 generated) against its KV bound:
// the runner's resident memory (from /proc) and the KV bytes it reserves (from Info), sampled while it works.
// Usage: npx tsx bench/runner-memory.ts [--preset tiny|gpt2-small] [--kv-bytes N] [--streams 64]
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { kvBytesPerToken, readModelConfig } from "@llm/engine";
import { startService } from "@llm/launcher";
import { ensureModel } from "@llm/model-pack";
import { ModelRunnerService } from "@llm/proto";
import { createClient } from "@llm/rpc";

const { values } = parseArgs({
  options: {
    preset: { type: "string", default: "tiny" },
    "kv-bytes": { type: "string" },
    streams: { type: "string", default: "64" },
  },
});
const streams = Number(values.streams);
const PROMPT = 256;
const OUTPUT = 256;

const model = await ensureModel(values.preset);
const bytesPerToken = kvBytesPerToken(await readModelConfig(model.dir));
const demand = streams * (PROMPT + OUTPUT) * bytesPerToken;
// Default bound: half of what all streams would need at once, so the bound has to hold some of them back.
const kvLimit = values["kv-bytes"] ? Number(values["kv-bytes"]) : Math.floor(demand / 2);

/** Resident and peak resident memory of a process, in bytes. */
async function memoryOf(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
  return { rss: kib("VmRSS"), peak: kib("VmHWM") };
}

const runner = await startService("services/model-runner/src/main.ts", {
  name: "model-runner",
  timeoutMs: 120_000,
  env: {
    LLM_MODEL_DIR: model.dir,
    LLM_MODEL_ID: values.preset,
    LLM_MAX_BATCH_SIZE: String(streams),
    LLM_KV_CACHE_BYTES: String(kvLimit),
    LLM_PREFIX_CACHE_BYTES: "0",
  },
});
const pid = runner.process.pid as number;
const client = createClient(ModelRunnerService, runner.address);
try {
  const idle = await memoryOf(pid);
  let peakKv = 0;
  let peakRunning = 0;
  let peakWaiting = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const info = await client.info({ model: values.preset });
      peakKv = Math.max(peakKv, Number(info.kvBytesUsed));
      peakRunning = Math.max(peakRunning, info.running);
      peakWaiting = Math.max(peakWaiting, info.waiting);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  const started = performance.now();
  let tokens = 0;
  await Promise.all(
    Array.from({ length: streams }, async (_, s) => {
      const promptTokenIds = Array.from({ length: PROMPT }, (_, i) => (i * 7919 + s * 104_729 + 13) % 50_000);
      const stream = client.generate({
        requestId: `mem-${s}`,
        model: values.preset,
        promptTokenIds,
        maxTokens: OUTPUT,
        sampling: { temperature: 0 },
        ignoreEos: true,
      });
      for await (const { event } of stream) if (event.case === "token") tokens++;
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  sampling = false;
  await sampler;
  const after = await memoryOf(pid);
  const mib = (bytes: number) => Math.round((bytes / 1024 ** 2) * 10) / 10;
  console.log(
    JSON.stringify(
      {
        preset: values.preset,
        streams,
        tokensPerStream: PROMPT + OUTPUT,
        kvBytesPerToken: bytesPerToken,
        allStreamsKvMiB: mib(demand),
        kvLimitMiB: mib(kvLimit),
        peakKvReservedMiB: mib(peakKv),
        peakRunning,
        peakWaiting,
        idleRssMiB: mib(idle.rss),
        peakRssMiB: mib(after.peak),
        rssGrowthMiB: mib(after.peak - idle.rss),
        rssGrowthOverKvLimit: Math.round(((after.peak - idle.rss) / kvLimit) * 100) / 100,
        generatedTokens: tokens,
        seconds: Math.round(seconds * 10) / 10,
      },
      null,
      2,
    ),
  );
} finally {
  client.close();
  await runner.stop();
}
