// Turns a step's SequenceLogits into what the sampling library takes: float32 rows (received as float32,
// widened from fp16/bf16, or read from the shared-memory ring) and pruned rows. Rows are checked against the
// stream's vocabulary here, so a malformed one fails only its own sequence.
import { LlmError } from "@llm/errors";
import type { RingLocation } from "@llm/logits-ring";
import { LogitsDtype, type SequenceLogits } from "@llm/proto";
import { type LogitsDtype as DtypeName, dtypeBytes, type PrunedRow, widenHalf } from "@llm/sampling";

/** Where ring rows come from: the reader of the ring this stream attached (@llm/logits-ring). */
export interface RingRows {
  /** The bytes of every ring row of a step, in order, each checked not to have been torn by a rewrite. */
  read(rows: readonly RingLocation[]): Uint8Array[];
}

export type StepRow = Float32Array | PrunedRow | LlmError;

export class StepRows {
  /** Scratch for widened 16-bit rows, grown to the largest step seen and reused. */
  private widened = new Float32Array(0);

  /** The ring this stream attached, once it did. */
  ring: RingRows | undefined;

  /** The vocabulary size a stream's first full rows imply (the sampler holds no model). */
  static vocabOf(first: SequenceLogits): number {
    const dtype = dtypeOf(first.dtype);
    const bytes = first.ringRow ? first.ringRow.length : first.logits.byteLength;
    const width = dtypeBytes(dtype) * rowsOf(first);
    if (first.pruned || bytes === 0 || bytes % width !== 0) {
      throw new LlmError(
        "invalid_argument",
        `the first logits on this stream are ${first.pruned ? "pruned" : `${bytes} bytes`}: expected ${rowsOf(first)} full rows of ${dtypeBytes(dtype)}-byte ${dtype} values`,
      );
    }
    return bytes / width;
  }

  /** One entry per step entry, in order. */
  decode(steps: readonly SequenceLogits[], vocabSize: number): StepRow[] {
    const fromRing = steps.filter((step) => step.ringRow);
    const ringBytes = fromRing.length > 0 ? this.readRing(fromRing) : [];
    let nextRing = 0;
    let widenedRows = 0;
    const allRows = steps.reduce((total, step) => total + rowsOf(step), 0);
    if (this.widened.length < allRows * vocabSize) this.widened = new Float32Array(allRows * vocabSize);
    return steps.map((step) => {
      if (step.pruned) return step.proposedTokens.length > 0 ? prunedProposals() : prunedRow(step.pruned);
      const bytes = step.ringRow ? ringBytes[nextRing++] : step.logits;
      if (bytes instanceof LlmError) return bytes;
      const dtype = dtypeOf(step.dtype);
      const rows = rowsOf(step);
      const problem = sizeProblem(bytes, dtype, vocabSize, rows);
      if (problem) return problem;
      if (dtype === "float32") return float32View(bytes);
      const out = this.widened.subarray(widenedRows * vocabSize, (widenedRows + rows) * vocabSize);
      widenedRows += rows;
      return widenHalf(uint16View(bytes), dtype, out);
    });
  }

  /** A torn or unreadable ring read fails the rows that needed it, not the stream. */
  private readRing(steps: readonly SequenceLogits[]): (Uint8Array | LlmError)[] {
    if (!this.ring) {
      const error = new LlmError("failed_precondition", "ring rows arrived on a stream that attached no ring");
      return steps.map(() => error);
    }
    try {
      return this.ring.read(
        steps.map(({ ringRow }) => {
          const { slot, stamp, offset, length } = ringRow as NonNullable<SequenceLogits["ringRow"]>;
          return { slot, stamp: Number(stamp), offset, length };
        }),
      );
    } catch (err) {
      const error = err instanceof LlmError ? err : new LlmError("unavailable", (err as Error).message);
      return steps.map(() => error);
    }
  }
}

function dtypeOf(dtype: LogitsDtype): DtypeName {
  if (dtype === LogitsDtype.FLOAT16) return "float16";
  if (dtype === LogitsDtype.BFLOAT16) return "bfloat16";
  return "float32";
}

/** Rows a step entry carries: one, and one more per speculative proposal. */
function rowsOf(step: SequenceLogits): number {
  return 1 + step.proposedTokens.length;
}

function sizeProblem(bytes: Uint8Array, dtype: DtypeName, vocabSize: number, rows: number): LlmError | undefined {
  const expected = rows * vocabSize * dtypeBytes(dtype);
  if (bytes.byteLength === expected) return undefined;
  const what =
    rows === 1
      ? `this stream's vocabulary of ${vocabSize}`
      : `${rows} rows of this stream's vocabulary of ${vocabSize}`;
  return new LlmError(
    "invalid_argument",
    `logits have ${bytes.byteLength} bytes; ${what} needs ${expected} (${dtype} LE)`,
  );
}

function prunedProposals(): LlmError {
  return new LlmError("invalid_argument", "speculative proposals need full rows, not pruned ones");
}

function prunedRow(pruned: NonNullable<SequenceLogits["pruned"]>): PrunedRow {
  return {
    tokenIds: pruned.tokenIds,
    values: float32View(pruned.values),
    candidateCount: pruned.candidateCount,
    logNormalizer: pruned.logNormalizer,
  };
}

/** Little-endian float32 bytes (this sampler runs on little-endian hosts) as a Float32Array, copied only when unaligned. */
function float32View(bytes: Uint8Array): Float32Array {
  if (bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 2);
  return new Float32Array(new Uint8Array(bytes).buffer); // a copy with its own buffer (Buffer.slice would share)
}

function uint16View(bytes: Uint8Array): Uint16Array {
  if (bytes.byteOffset % 2 === 0) return new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 1);
  return new Uint16Array(new Uint8Array(bytes).buffer);
}
