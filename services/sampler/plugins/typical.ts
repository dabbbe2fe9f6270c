// Example sampler plugin: locally typical sampling (Meister, Pimentel, Wiher & Cotterell, "Locally Typical
// Sampling", TACL 2023; Hugging Face's `typical_p`). It keeps the tokens whose surprisal −log p is closest
// to the distribution's entropy, the fewest of them whose probability mass reaches τ, and draws among them:
// text stays "as informative as expected", avoiding both dull high-probability loops and incoherent tails.
//
// Deploy: LLM_SAMPLER_PLUGINS=services/sampler/plugins/typical.ts (restart only the sampler); select it
// per request with SamplingParams.strategy = "typical". τ is SamplingParams.top_p (unset or 1: no filter).
import {
  adjustLogits,
  argmax,
  type Candidates,
  raceCandidates,
  type SamplingStrategy,
  type StrategyContext,
  type StrategyRegistry,
  type Workspace,
  weighVocabulary,
} from "@llm/sampling";

export const typical: SamplingStrategy = {
  description:
    "Locally typical sampling: logitBias → penalties → temperature (0 = greedy) → keep the tokens whose " +
    "surprisal is closest to the entropy until their mass reaches topP (the typical mass τ) → seeded draw.",
  sample: sampleTypical,
};

export function register(registry: StrategyRegistry): void {
  registry.register("typical", typical);
}

function sampleTypical(ctx: StrategyContext): number {
  const logits = adjustLogits(ctx);
  const { temperature, topP: mass } = ctx.params;
  if (temperature === 0) return argmax(logits);
  const { candidates } = ctx.workspace;
  const total = weighVocabulary(logits, candidates, 1 / temperature);
  if (mass < 1) keepTypicalSet(candidates, total, mass, scratchOf(ctx.workspace));
  return raceCandidates(candidates, ctx.noise);
}

interface Scratch {
  /** |surprisal − entropy| per candidate position. */
  deviation: Float64Array;
  /** Candidate positions, most typical first. */
  order: Int32Array;
  keptIds: Int32Array;
  keptWeights: Float64Array;
}

// Allocated once per workspace (one per vocabulary), like the library's own scratch buffers.
const scratches = new WeakMap<Workspace, Scratch>();

function scratchOf(workspace: Workspace): Scratch {
  let scratch = scratches.get(workspace);
  if (!scratch) {
    const n = workspace.vocabSize;
    scratch = {
      deviation: new Float64Array(n),
      order: new Int32Array(n),
      keptIds: new Int32Array(n),
      keptWeights: new Float64Array(n),
    };
    scratches.set(workspace, scratch);
  }
  return scratch;
}

/** Narrows weighed candidates to the typical set (ties at its edge included), as Hugging Face does. */
function keepTypicalSet(candidates: Candidates, total: number, mass: number, scratch: Scratch): void {
  const { ids, weights, size } = candidates;
  const { deviation, keptIds, keptWeights } = scratch;
  const logTotal = Math.log(total);
  let entropy = 0;
  for (let i = 0; i < size; i++) {
    const p = weights[i] / total;
    if (p > 0) entropy -= p * Math.log(p);
  }
  for (let i = 0; i < size; i++) {
    // −log p = log(total) − log(weight); a weight of 0 is infinitely surprising.
    deviation[i] = weights[i] > 0 ? Math.abs(logTotal - Math.log(weights[i]) - entropy) : Number.POSITIVE_INFINITY;
  }
  const order = scratch.order.subarray(0, size);
  for (let i = 0; i < size; i++) order[i] = i;
  order.sort((a, b) => deviation[a] - deviation[b] || ids[a] - ids[b]);

  const target = mass * total;
  let kept = 0;
  for (let cumulative = 0; kept < size && cumulative < target; kept++) cumulative += weights[order[kept]];
  const edge = deviation[order[kept - 1]];
  while (kept < size && deviation[order[kept]] === edge) kept++;
  for (let i = 0; i < kept; i++) {
    keptIds[i] = ids[order[i]];
    keptWeights[i] = weights[order[i]];
  }
  ids.set(keptIds.subarray(0, kept));
  weights.set(keptWeights.subarray(0, kept));
  candidates.size = kept;
}
