// Reading a long-lived stream until a signal fires, without holding on to what was read.
//
// `Promise.race([source.next(), aborted])` against one long-lived `aborted` promise leaks: every race adds a
// reaction to `aborted` that keeps the race's promise, and so the message it resolved with, reachable until
// the signal fires. On a runner's Sample stream that was every step's logits: ~200 KB per generated token.
// Here each wait listens to the signal only while it lasts.

/** What happens when the signal fires: the iteration throws the signal's reason, or simply ends. */
export type OnAbort = "throw" | "end";

/** Yields what `source` yields until it ends or `signal` fires (a value arriving after that is not taken). */
export async function* untilAborted<T>(
  source: AsyncIterable<T> | AsyncIterator<T>,
  signal: AbortSignal,
  onAbort: OnAbort = "throw",
): AsyncGenerator<T> {
  const iterator = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source;
  try {
    for (;;) {
      const next = await nextUnlessAborted(iterator, signal);
      if (next === undefined) {
        if (onAbort === "throw") throw signal.reason;
        return;
      }
      if (next.done) return;
      yield next.value;
    }
  } finally {
    // Not awaited: a Node stream iterator queues return() behind a pending next(), which may never settle.
    void Promise.resolve(iterator.return?.()).catch(() => {});
  }
}

/** The iterator's next result, or undefined once `signal` has fired; the listener goes when either settles. */
function nextUnlessAborted<T>(iterator: AsyncIterator<T>, signal: AbortSignal): Promise<IteratorResult<T> | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve(undefined);
    signal.addEventListener("abort", onAbort, { once: true });
    iterator.next().then(
      (result) => {
        signal.removeEventListener("abort", onAbort);
        resolve(result);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}
