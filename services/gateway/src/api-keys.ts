// API keys for both public APIs (HTTP bearer token, gRPC `authorization` metadata) and each key's concurrency cap.
import { createHash } from "node:crypto";
import { LlmError } from "@llm/errors";

/** Who sent a request: a key's short fingerprint (safe to log), or "local" when keys are off. */
export interface Caller {
  readonly id: string;
  /**
   * Takes one of the caller's concurrency slots for a request (its id, when known, is recorded as the caller's);
   * the returned function gives it back (call it once).
   */
  acquire(requestId?: string): () => void;
  /** Whether a Cancel from this caller may name `requestId`: not while another key's request holds that id. */
  mayCancel(requestId: string): boolean;
}

const SHA256_ENTRY = /^sha256:([0-9a-f]{64})$/i;

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

export class ApiKeys {
  /** Hex SHA-256 digest of each accepted key: plain keys are hashed at startup, so only digests stay in memory. */
  private readonly digests: ReadonlySet<string>;
  private readonly inFlight = new Map<string, number>();
  /** Request id → the caller id that started it, while it runs. */
  private readonly owners = new Map<string, string>();
  private readonly local: Caller = { id: "local", acquire: () => () => {}, mayCancel: () => true };

  /** `entries`: LLM_API_KEYS (undefined or empty: authentication off); `maxConcurrent`: per key. */
  constructor(
    entries: readonly string[] | undefined,
    private readonly maxConcurrent: number,
  ) {
    this.digests = new Set(
      (entries ?? []).map((entry) => SHA256_ENTRY.exec(entry)?.[1]?.toLowerCase() ?? sha256(entry)),
    );
  }

  get enabled(): boolean {
    return this.digests.size > 0;
  }

  /** The caller an `Authorization` value (`Bearer <key>`) names; UNAUTHENTICATED when keys are on and it fits none. */
  authenticate(authorization: string | undefined): Caller {
    if (!this.enabled) return this.local;
    const key = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "")?.[1];
    if (key === undefined) {
      throw new LlmError("unauthenticated", "missing API key: send `Authorization: Bearer <key>`");
    }
    const digest = sha256(key);
    if (!this.digests.has(digest)) throw new LlmError("unauthenticated", "invalid API key");
    const id = `key-${digest.slice(0, 12)}`;
    return {
      id,
      acquire: (requestId) => this.acquire(id, requestId),
      mayCancel: (requestId) => (this.owners.get(requestId) ?? id) === id,
    };
  }

  private acquire(id: string, requestId = ""): () => void {
    const count = this.inFlight.get(id) ?? 0;
    if (count >= this.maxConcurrent) {
      throw new LlmError(
        "resource_exhausted",
        `this API key already has ${count} requests in flight, its limit (LLM_API_KEY_MAX_CONCURRENT); retry when one ends`,
        { retryAfterMs: 1000, details: { limit: this.maxConcurrent } },
      );
    }
    this.inFlight.set(id, count + 1);
    // An id already running keeps its owner (the generation itself refuses the duplicate).
    const owned = requestId !== "" && !this.owners.has(requestId);
    if (owned) this.owners.set(requestId, id);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (owned) this.owners.delete(requestId);
      const left = (this.inFlight.get(id) ?? 1) - 1;
      if (left === 0) this.inFlight.delete(id);
      else this.inFlight.set(id, left);
    };
  }
}
