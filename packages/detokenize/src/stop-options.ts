import { LlmError } from "@llm/errors";

export interface StopLimits {
  /** Most stop sequences one request may give. */
  maxStopSequences: number;
  /** Longest stop sequence, in UTF-16 code units (what `String.length` counts). */
  maxStopLength: number;
}

export const DEFAULT_STOP_LIMITS: StopLimits = { maxStopSequences: 16, maxStopLength: 256 };

// With the `u` flag a surrogate pair reads as one code point, so only lone halves match.
const LONE_SURROGATE = /\p{Surrogate}/u;

function invalidStop(message: string, details: Record<string, unknown>): LlmError {
  return new LlmError("invalid_argument", message, { details: { field: "stop", ...details } });
}

/** Rejects stop sequences that cannot be matched sensibly, naming the offending one. */
export function validateStopSequences(stops: readonly string[], limits: StopLimits): void {
  if (stops.length > limits.maxStopSequences) {
    throw invalidStop(
      `too many stop sequences: ${stops.length} given, at most ${limits.maxStopSequences} are allowed`,
      {
        limit: limits.maxStopSequences,
      },
    );
  }
  stops.forEach((stop, index) => {
    if (typeof stop !== "string") throw invalidStop(`stop sequence ${index} is not a string`, { index });
    if (stop.length === 0) throw invalidStop(`stop sequence ${index} is empty; remove it or give some text`, { index });
    if (stop.length > limits.maxStopLength) {
      throw invalidStop(
        `stop sequence ${index} is ${stop.length} characters long; at most ${limits.maxStopLength} are allowed`,
        { index, limit: limits.maxStopLength },
      );
    }
    // A lone surrogate never appears in decoded text, so such a stop could never match.
    if (LONE_SURROGATE.test(stop))
      throw invalidStop(`stop sequence ${index} contains a lone UTF-16 surrogate`, { index });
  });
}
