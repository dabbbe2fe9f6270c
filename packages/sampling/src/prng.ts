import { randomBytes } from "node:crypto";

// A counter-based generator: every random number a sequence uses is a pure function of (seed, token index,
// lane), never of how many numbers were drawn before. So a runner that takes a request over at token i draws
// exactly what the first runner would have drawn there, and nothing about the batch (order, size, other
// sequences) can shift a sequence's draws. The step key comes from SplitMix64 (BigInt, once per token); lanes
// (a token id, or a draw number) go through two rounds of a 32-bit integer mixer, which is a bijection of the
// lane for a fixed key: within one step no two tokens share a uniform.

const MASK64 = (1n << 64n) - 1n;
const GOLDEN_GAMMA = 0x9e3779b97f4a7c15n;

/** A seed as the API takes it: any integer that fits in 64 bits (negative int64 values wrap to uint64). */
export type Seed = number | bigint;

/** Normalises a seed to the unsigned 64-bit value the generator is built from. */
export function toSeed64(seed: Seed): bigint {
  return BigInt.asUintN(64, typeof seed === "bigint" ? seed : BigInt(seed));
}

/** A fresh unpredictable seed, for sequences opened without one. */
export function randomSeed64(): bigint {
  return randomBytes(8).readBigUInt64LE(0);
}

/** SplitMix64's output function (Steele, Lea & Flood): a strong 64-bit mixer. */
function mix64(value: bigint): bigint {
  let z = value & MASK64;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return z ^ (z >> 31n);
}

/** A 32-bit bijective mixer with low bias (Wellons' "hash prospector", constants 0x21f0aaad / 0x735a2d97). */
function mix32(value: number): number {
  let x = value;
  x ^= x >>> 16;
  x = Math.imul(x, 0x21f0aaad);
  x ^= x >>> 15;
  x = Math.imul(x, 0x735a2d97);
  x ^= x >>> 15;
  return x >>> 0;
}

/** Uniforms used for per-token noise and for the strategy's own draws come from separate keys. */
const TOKEN_DOMAIN = 0n;
const DRAW_DOMAIN = 1n;

/** The random numbers of one token index of one sequence: `uniform(lane)`, the same whenever it is asked. */
export class StepNoise {
  private k0 = 0;
  private k1 = 0;

  constructor(
    private readonly seed: bigint,
    private readonly domain: bigint,
  ) {}

  /** Points this at token index `step` (costs one 64-bit mix). */
  at(step: number): this {
    const key = mix64(this.seed ^ (mix64((BigInt(step) << 1n) | this.domain) + GOLDEN_GAMMA));
    this.k0 = Number(key & 0xffffffffn) | 0;
    this.k1 = Number(key >> 32n) | 0;
    return this;
  }

  /** 32 random bits for `lane` (an unsigned 32-bit integer) at this step. */
  bits(lane: number): number {
    return mix32((mix32((lane ^ this.k0) >>> 0) + this.k1) | 0);
  }

  /** A uniform in (0, 1) for `lane` (never 0 or 1, so its logarithms are finite). */
  uniform(lane: number): number {
    return (this.bits(lane) + 0.5) / 4294967296;
  }

  /** A uniform double in [0, 1) with 53 random bits, from lanes 2·draw and 2·draw + 1. */
  double(draw: number): number {
    const high = this.bits(2 * draw) >>> 5; // 27 bits
    const low = this.bits(2 * draw + 1) >>> 6; // 26 bits
    return (high * 67108864 + low) / 9007199254740992;
  }
}

/** A sequence's generator: `tokenNoise(i)` for token index i's per-token uniforms, `draws(i)` for its plain draws. */
export class CounterRng {
  private readonly tokens: StepNoise;
  private readonly draws: StepNoise;

  constructor(seed: Seed) {
    const seed64 = toSeed64(seed);
    this.tokens = new StepNoise(seed64, TOKEN_DOMAIN);
    this.draws = new StepNoise(seed64, DRAW_DOMAIN);
  }

  /** Uniforms indexed by token id for token index `step` (the exponential race's noise). */
  tokenNoise(step: number): StepNoise {
    return this.tokens.at(step);
  }

  /** Plain uniform draws for token index `step`, indexed by draw number. */
  drawNoise(step: number): StepNoise {
    return this.draws.at(step);
  }
}
