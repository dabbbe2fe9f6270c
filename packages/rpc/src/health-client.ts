// Asking a server for its health, as orchestration scripts and tests do.

import { LlmError } from "@llm/errors";
import { Health } from "@llm/proto";
import { createClient } from "./client.js";
import { ServingStatus } from "./health.js";

export type ServingStatusName = keyof typeof ServingStatus;

/** The status of `service` ("" = the whole server); an unknown service rejects with `not_found`. */
export async function checkHealth(address: string, service = "", timeoutMs = 2000): Promise<ServingStatusName> {
  const client = createClient(Health, address);
  try {
    const { status } = await client.check({ service }, { deadline: Date.now() + timeoutMs });
    return ServingStatus[status] as ServingStatusName;
  } finally {
    client.close();
  }
}

/** Resolves once `service` reports SERVING (via Watch); rejects with `deadline_exceeded` after `timeoutMs`. */
export async function waitForServing(address: string, service = "", timeoutMs = 10_000): Promise<void> {
  const client = createClient(Health, address);
  const deadline = Date.now() + timeoutMs;
  try {
    // Watch fails fast while the server is not up yet (UNAVAILABLE): retry until the deadline.
    for (;;) {
      try {
        for await (const { status } of client.watch({ service }, { deadline })) {
          if (status === ServingStatus.SERVING) return;
        }
      } catch (err) {
        if (!(err instanceof LlmError) || err.code !== "unavailable" || Date.now() >= deadline) throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
      if (Date.now() >= deadline) {
        throw new LlmError("deadline_exceeded", `${address}: "${service}" not SERVING within ${timeoutMs} ms`);
      }
    }
  } finally {
    client.close();
  }
}
