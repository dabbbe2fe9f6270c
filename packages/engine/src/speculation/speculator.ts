// Speculative decoding's engine side: which sequences speculate (their request's mode, or the deployment's), how
// many tokens each proposes this step (the policy), the proposals (n-gram lookup or the draft model), and each
// sequence's acceptance. Verification itself is the sampler's (EngineSampler: proposals in, accepted prefix out),
// and the KV rollback the decode batch's (settle()).
import { LlmError } from "@llm/errors";
import type { Sequence } from "../sequence.js";
import type { DraftModel, ProposalChooser } from "./draft.js";
import { promptLookup } from "./ngram.js";
import { loadAwarePolicy, type SpeculationPolicy, type StepSpeed } from "./policy.js";
import { acceptanceOf, type SpeculationState, type SpeculativeMode } from "./state.js";
import { StepCost } from "./step-cost.js";

export interface SpeculationOptions {
  /** The mode of requests that do not choose one (default "off"). */
  defaultMode?: SpeculativeMode;
  /** Needed by requests (or a default) in "draft" mode; the engine owns it (released when the engine closes). */
  draft?: DraftModel;
  policy?: SpeculationPolicy;
}

/** How much of a sequence's acceptance figures each verify step keeps: about the last five steps count. */
const ACCEPTANCE_KEEP = 0.8;
/** A new sequence's acceptance figures: as if two proposals had been accepted (one early rejection is not all). */
const PRIOR = { judged: 2, accepted: 2 };
/** A sequence not speculating drifts back toward trying again by this share a step (conditions change). */
const PROBATION = 0.05;
/** The draft's cost per proposal relative to a model step, before both were measured. */
const ASSUMED_DRAFT_COST = 0.2;

export class Speculator {
  private readonly policy: SpeculationPolicy;
  /** The model's decode forward time by positions computed, learned from the steps run. */
  private readonly stepCost = new StepCost();
  /** This step's time prefilling the draft for sequences that (re)joined it. */
  private catchUpMs = 0;
  /** This step's speculating rows' proposers (StepSpeed.proposers). */
  private proposers = "";

  constructor(
    private readonly options: SpeculationOptions,
    private readonly batch: {
      /** The model's positions: no verify row may go past them. */
      contextLength: number;
      /** The decode batch's padding period (DecodeBatch): above 1, rows that keep different counts split it. */
      paddingPeriod: number;
    },
  ) {
    this.policy = options.policy ?? loadAwarePolicy();
    if (options.defaultMode === "draft" && !options.draft) {
      throw new Error('the default speculative mode is "draft" but no draft model is loaded');
    }
  }

  get draft(): DraftModel | undefined {
    return this.options.draft;
  }

  /** Throws invalid_argument for a mode this engine cannot serve. */
  check(mode: SpeculativeMode | undefined): void {
    if (mode === "draft" && !this.options.draft) {
      throw new LlmError(
        "invalid_argument",
        'speculative "draft" needs a draft model: this runner has none (LLM_DRAFT_MODEL_DIR)',
        {
          details: { field: "speculative" },
        },
      );
    }
  }

  /** A new sequence's state: undefined when it does not speculate (off, or its sampler cannot verify). */
  begin(mode: SpeculativeMode | undefined, verifies: boolean): SpeculationState | undefined {
    const chosen = mode ?? this.options.defaultMode ?? "off";
    if (chosen === "off" || !verifies) return undefined;
    const { judged, accepted } = PRIOR;
    return { proposer: chosen, judged, accepted, proposedTokens: 0, acceptedTokens: 0 };
  }

  /**
   * This step's proposals for the decode batch's rows (none for most steps at high load). `remaining(seq)`: the
   * tokens a sequence may still emit (a verify step emits up to k + 1). The forward pads every row to the step's
   * longest run of proposals, so none may take a row past the model's (or the draft's) last position.
   */
  async plan(
    rows: readonly Sequence<unknown>[],
    remaining: (seq: Sequence<unknown>) => number,
    choose: ProposalChooser,
  ): Promise<Map<Sequence<unknown>, number[]>> {
    const proposals = new Map<Sequence<unknown>, number[]>();
    const drafted = new Map<Sequence<unknown>, number>();
    this.catchUpMs = 0;
    const { paddingPeriod } = this.batch;
    const proposers = new Set(rows.flatMap((seq) => (seq.speculation ? [seq.speculation.proposer] : [])));
    this.proposers = [...proposers].sort().join("+");
    if (proposers.size === 0) return proposals;
    if (this.policy.speculate?.({ rows: rows.length, paddingPeriod, proposers: this.proposers }) === false) {
      return proposals;
    }
    const longest = Math.max(0, ...rows.map((seq) => seq.kvLength));
    const room = Math.min(
      this.batch.contextLength - longest - 1,
      (this.options.draft?.contextLength ?? Infinity) - longest,
    );
    // A proposal's cost depends on the batch, not the sequence: priced once a step.
    const verifyCost = this.stepCost.perPosition(rows.length);
    const costs = { ngram: verifyCost, draft: verifyCost + this.draftCost(rows.length) };
    for (const seq of rows) {
      const state = seq.speculation;
      if (!state) continue;
      const { proposer } = state;
      const acceptance = acceptanceOf(state);
      const proposalCost = costs[proposer];
      const wanted = this.policy.lookahead({ batchSize: rows.length, acceptance, proposer, proposalCost });
      if (wanted <= 0) state.accepted += PROBATION * (state.judged - state.accepted);
      const k = Math.min(wanted, remaining(seq) - 1, room);
      if (k <= 0) continue;
      if (proposer === "ngram") {
        const found = promptLookup(seq.tokens, k);
        if (found.length > 0) proposals.set(seq, found);
      } else {
        drafted.set(seq, k);
      }
    }
    const { draft } = this.options;
    if (draft && drafted.size > 0) {
      for (const [seq, tokens] of await draft.propose(drafted, choose))
        if (tokens.length > 0) proposals.set(seq, tokens);
      this.catchUpMs = draft.catchUpMs;
    } else {
      draft?.idle();
    }
    return proposals;
  }

  /** A decode-only step's speed (rows, ms and tokens; what speculated is added here), for the policy. */
  observeStep(speed: Omit<StepSpeed, "catchUpMs" | "proposers">): void {
    this.policy.observe?.({ ...speed, catchUpMs: this.catchUpMs, proposers: this.proposers });
  }

  /** The model's decode forward computed `positions` positions (rows × tokens each) in `ms`. */
  observeModelStep(positions: number, ms: number): void {
    this.stepCost.observe(positions, ms);
  }

  /** A draft forward's time over a plain model step's, both measured by the engine under the same load. */
  private draftCost(rows: number): number {
    const draftMs = this.options.draft?.forwardMs;
    const stepMs = this.stepCost.plainStepMs(rows);
    if (draftMs === undefined || stepMs === undefined) return ASSUMED_DRAFT_COST;
    return draftMs / stepMs;
  }

  /** After a verify step: `accepted` of the sequence's `proposed` tokens were kept. */
  record(seq: Sequence<unknown>, proposed: number, accepted: number): void {
    const state = seq.speculation;
    if (!state || proposed === 0) return;
    state.proposedTokens += proposed;
    state.acceptedTokens += accepted;
    // Accepted / proposed would count the proposals after a rejection as failures: 1 of 4 accepted is 1 of 2 judged.
    const judged = accepted < proposed ? accepted + 1 : accepted;
    state.judged = ACCEPTANCE_KEEP * state.judged + judged;
    state.accepted = ACCEPTANCE_KEEP * state.accepted + accepted;
  }

  /** After the step's tokens were accepted: the draft's rows cut back to their sequences. */
  settle(): void {
    this.options.draft?.settle();
  }

  /** Nothing decodes: the draft's rows and caches are dropped. */
  idle(): void {
    this.options.draft?.idle();
  }

  release(): Promise<void> {
    return this.options.draft?.release() ?? Promise.resolve();
  }
}
