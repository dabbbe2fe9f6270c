// What most error-path tests need: the call must fail, and with the project's own error type.
import { LlmError } from "@llm/errors";
import { expect } from "vitest";

/** Awaits `call`, expects it to reject with an LlmError (as rpc clients map a gRPC status), and returns it. */
export async function llmFailure(call: Promise<unknown>): Promise<LlmError> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LlmError);
  return err as LlmError;
}
