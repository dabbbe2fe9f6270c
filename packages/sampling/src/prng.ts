import { randomBytes } from "node:crypto";

// xoshiro128** 1.1 (Blackman & Vigna): 128-bit state, 32-bit outputs, passes BigCrush, and needs only
// Math.imul and shifts, so it runs at full speed on JavaScript's 32-bit integer path. The 64-bit seed is
// expanded into the state with SplitMix64, as the authors recommend, so nearby seeds give unrelated streams.

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

function splitMix64(state: bigint): { state: bigint; output: bigint } {
  const next = (state + GOLDEN_GAMMA) & MASK64;
  let z = next;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return { state: next, output: z ^ (z >> 31n) };
}

export class Xoshiro128StarStar {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: Seed) {
    let state = toSeed64(seed);
    const words: number[] = [];
    for (let i = 0; i < 2; i++) {
      const step = splitMix64(state);
      state = step.state;
      words.push(Number(step.output & 0xffffffffn), Number(step.output >> 32n));
    }
    [this.s0, this.s1, this.s2, this.s3] = words.map((w) => w | 0);
    // The all-zero state is the generator's one fixed point; SplitMix64 never yields it, but be explicit.
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Next 32 random bits as an unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9);
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result >>> 0;
  }

  /** Uniform double in [0, 1) with 53 random bits (two outputs). */
  nextDouble(): number {
    const high = this.nextUint32() >>> 5; // 27 bits
    const low = this.nextUint32() >>> 6; // 26 bits
    return (high * 67108864 + low) / 9007199254740992;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
