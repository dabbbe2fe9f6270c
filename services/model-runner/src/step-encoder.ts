// Builds a step's SequenceLogits for the remote sampler, lightest form first: rows in the shared-memory ring
// when the stream attached one (only a few bytes per row cross gRPC); else, per row, only the candidates when
// the sampler declared the sequence's candidate bound and they are few (never for a speculative verify, whose
// rows all go whole); else the full row in the model's dtype.
import type { SampleInput } from "@llm/engine";
import type { RingWriter } from "@llm/logits-ring";
import { LogitsDtype, type MessageInitShape, type SequenceLogitsSchema } from "@llm/proto";
import { type PruneSpec, pruneRow, Workspace } from "@llm/sampling";

type SequenceLogitsInit = MessageInitShape<typeof SequenceLogitsSchema>;

/** Past this share of the vocabulary a pruned row (8 bytes a token) is no lighter than the full one. */
const MAX_PRUNED_SHARE = 0.25;

export interface EncodedRow {
  sequenceId: bigint;
  input: SampleInput;
  /** The sampler's candidate bound for the sequence, once it declared one. */
  bound: PruneSpec | undefined;
}

export class StepEncoder {
  private workspace: Workspace | undefined;

  /** `prune`: send candidates only where a bound allows (off: always full rows, e.g. to compare). */
  constructor(private readonly prune: boolean) {}

  encode(rows: readonly EncodedRow[], ring: RingWriter | undefined): SequenceLogitsInit[] {
    if (ring) {
      const bytes = rows.map(({ input }) => wireBytes(input));
      if (ring.fits(bytes.reduce((total, row) => total + row.byteLength, 0))) {
        const locations = ring.writeStep(bytes);
        return rows.map(({ sequenceId, input }, i) => ({
          sequenceId,
          dtype: dtypeOf(input),
          ringRow: { ...locations[i], stamp: BigInt(locations[i].stamp) },
          proposedTokens: input.proposed && [...input.proposed],
        }));
      }
    }
    return rows.map((row) => this.message(row));
  }

  private message({ sequenceId, input, bound }: EncodedRow): SequenceLogitsInit {
    if (input.proposed?.length)
      return { sequenceId, dtype: dtypeOf(input), logits: wireBytes(input), proposedTokens: [...input.proposed] };
    if (this.prune && bound) {
      const pruned = pruneRow(input.logits, bound, this.workspaceFor(input.logits.length));
      if (pruned.tokenIds.length <= input.logits.length * MAX_PRUNED_SHARE) {
        return {
          sequenceId,
          pruned: {
            tokenIds: Array.from(pruned.tokenIds),
            values: new Uint8Array(pruned.values.buffer),
            candidateCount: pruned.candidateCount,
            logNormalizer: pruned.logNormalizer,
          },
        };
      }
    }
    return { sequenceId, dtype: dtypeOf(input), logits: wireBytes(input) };
  }

  private workspaceFor(vocabSize: number): Workspace {
    if (this.workspace?.vocabSize !== vocabSize) this.workspace = new Workspace(vocabSize);
    return this.workspace;
  }
}

/** The row in the model's own dtype (16-bit when it produced 16-bit values), without a copy. */
function wireBytes({ logits, half }: SampleInput): Uint8Array {
  const values = half?.bits ?? logits;
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

function dtypeOf({ half }: SampleInput): LogitsDtype {
  if (!half) return LogitsDtype.FLOAT32;
  return half.dtype === "float16" ? LogitsDtype.FLOAT16 : LogitsDtype.BFLOAT16;
}
