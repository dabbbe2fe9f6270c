// The Llama builds (GQA, head_dim != hidden/heads) in fp32 and fp16 through the engine, real ORT: KV-cached ==
// recompute, batched == alone, prefix-cache hit == miss on the memory tier and on a Redis tier, whose blocks
// keep the model's dtype.
import { randomUUID } from "node:crypto";
import { silentLog } from "@llm/log";
import { ensureModel } from "@llm/model-pack";
import { connectSharedTier, RedisBlockStore } from "@llm/prefix-cache";
import { redisTarget } from "@llm/redis";
import { Sampler, type SamplingParams, widenHalf } from "@llm/sampling";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  DraftModel,
  type Engine,
  type EngineOptions,
  type EngineSampler,
  inProcessSampler,
  readModelConfig,
  resolveModelFile,
  type SampleInput,
} from "../src/index.js";
import { collect, folderEngine, fullRecompute, presetEngine, promptOf, request } from "./helpers.js";

/** Both KV layouts: standard (Optimum's) and the model pack's append variant of the same weights. */
const BUILDS = [
  { preset: "llama-tiny", dtype: "fp32", kvHeads: 2, headDim: 16 },
  { preset: "llama-tiny", dtype: "fp16", kvHeads: 2, headDim: 16 },
  { preset: "llama-tiny-headdim", dtype: "fp32", kvHeads: 2, headDim: 32 },
  { preset: "llama-tiny-headdim", dtype: "fp16", kvHeads: 2, headDim: 32 },
  { preset: "llama-tiny-append", dtype: "fp32", kvHeads: 2, headDim: 16 },
  { preset: "llama-tiny-headdim-append", dtype: "fp16", kvHeads: 2, headDim: 32 },
] as const;
type Build = (typeof BUILDS)[number];

function engineFor(build: Build, options: Partial<EngineOptions<SamplingParams>> = {}) {
  return presetEngine(build.preset, { modelFile: build.dtype, ...options });
}

/** The standard file of the build's weights: the recompute reference for both layouts. */
async function standardFile(build: Build): Promise<string> {
  return resolveModelFile((await ensureModel(build.preset.replace(/-append$/, ""))).dir, build.dtype);
}

describe.each(BUILDS)("$preset $dtype through the engine", (build) => {
  let engine: Engine<SamplingParams>;
  beforeAll(async () => {
    engine = await engineFor(build, { prefillChunkTokens: 32, maxStepTokens: 64 });
  });
  afterAll(() => engine.close());

  it("KV-cached greedy generation equals full recompute for 24 tokens", async () => {
    const prompt = promptOf(20, 1);
    const { tokens } = await collect(engine.submit(request("kv", prompt, 24)));
    const dtype = build.dtype === "fp16" ? "float16" : "float32";
    expect(tokens).toEqual(await fullRecompute(await standardFile(build), { ...build, dtype }, prompt, 24));
  });

  it("gives each sequence the same tokens alone and batched, with others joining and leaving", async () => {
    const specs = [
      { prompt: promptOf(23, 2), max: 30 },
      { prompt: promptOf(5, 3), max: 6 },
      { prompt: promptOf(70, 4), max: 12 },
      { prompt: promptOf(11, 5), max: 20 },
    ];
    const run = (i: number, id: string) =>
      collect(engine.submit(request(id, specs[i].prompt, specs[i].max, { temperature: 0.8, seed: i })));
    const alone: number[][] = [];
    for (const i of specs.keys()) alone.push((await run(i, `alone-${i}`)).tokens);
    const batched = await Promise.all(specs.map((_, i) => run(i, `batched-${i}`)));
    batched.forEach(({ tokens }, i) => {
      expect(tokens, `spec ${i}`).toEqual(alone[i]);
    });
  });

  it("reuses a cached prefix from memory with the tokens of a miss", async () => {
    const prompt = promptOf(45, 7);
    const miss = await collect(engine.submit(request("miss", prompt, 10)));
    const hit = await collect(engine.submit(request("hit", prompt, 10)));
    expect(hit.final.usage.cachedPromptTokens).toBe(32);
    expect(hit.tokens).toEqual(miss.tokens);
  });
});

describe("the sampler gets an fp16 model's rows as it produced them", () => {
  it.each(BUILDS)("$preset $dtype: half bits beside their exact widening (verify rows too)", async (build) => {
    const seen: SampleInput[] = [];
    const dir = (await ensureModel(build.preset)).dir;
    const { vocabSize } = await readModelConfig(dir);
    const inner = inProcessSampler(new Sampler({ vocabSize }));
    const sampler: EngineSampler<SamplingParams> = {
      ...inner,
      sample: (batch) => {
        seen.push(...batch);
        return inner.sample(batch);
      },
    };
    // The model as its own draft: every proposal accepted, so the sampler gets verify rows.
    const location = { modelDir: dir, modelFile: build.dtype, providers: ["cpu"] as const, log: silentLog };
    const draft = await DraftModel.load(location, vocabSize);
    const engine = await folderEngine(
      dir,
      { modelFile: build.dtype, speculation: { defaultMode: "draft", draft } },
      sampler,
    );
    try {
      await collect(engine.submit(request("half", promptOf(12, 9), 8)));
    } finally {
      await engine.close();
    }
    expect(seen.some((input) => (input.proposed?.length ?? 0) > 0)).toBe(true);
    for (const input of seen) {
      if (build.dtype === "fp32") {
        expect(input.half).toBeUndefined();
        continue;
      }
      expect(input.half?.dtype).toBe("float16");
      const bits = input.half?.bits as Uint16Array;
      expect(bits.length).toBe(input.logits.length);
      expect(widenHalf(bits, "float16", new Float32Array(bits.length))).toEqual(input.logits);
    }
  });
});

describe("a Redis prefix tier keeps the fp16 model's blocks in fp16", () => {
  const redis = connectSharedTier(redisTarget(inject("redisUrl")), silentLog);
  afterAll(() => redis.disconnect());

  it.each(BUILDS.filter((build) => build.dtype === "fp16"))(
    "$preset: a Redis hit gives the miss's tokens",
    async (build) => {
      const keyPrefix = `test:${randomUUID()}:`;
      // The tier's float32 setting applies to float32 blocks; an fp16 model's blocks are stored as they are.
      const store = new RedisBlockStore({ redis, ttlSeconds: 60, keyPrefix, dtype: "float32", log: silentLog });
      // No memory tier: the second engine can only hit Redis.
      const redisOnly = () => engineFor(build, { sharedPrefixStore: store, prefixCacheBytes: 0 });
      const prompt = promptOf(40, 9);
      const first = await redisOnly();
      const miss = await collect(first.submit(request("miss", prompt, 10)));
      await first.close();
      let stored: string[] = [];
      for (let wait = 0; stored.length < 2 && wait < 100; wait++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        stored = await redis.keys(`${keyPrefix}*`);
      }
      const bytes = await redis.getBuffer(stored[0]);
      const values = 2 * 2 * build.kvHeads * 16 * build.headDim; // layers x K|V x heads x block x head size
      expect(bytes?.readUInt8(3)).toBe(2); // the codec's float16 code
      expect(bytes?.length).toBe(8 + 2 * values);
      const second = await redisOnly();
      try {
        const hit = await collect(second.submit(request("hit", prompt, 10)));
        expect(hit.final.usage.cachedPromptTokens).toBe(32);
        expect(hit.tokens).toEqual(miss.tokens);
      } finally {
        await second.close();
      }
    },
  );
});
