// A push-to-pull bridge: the engine loop pushes events, one consumer pulls them with for-await.
// Ending the iteration early (break/return) calls `onReturn`, which the engine uses to cancel the request.

export class EventStream<T> implements AsyncIterable<T> {
  private readonly buffered: T[] = [];
  private ended = false;
  private waiter: ((result: IteratorResult<T>) => void) | undefined;

  constructor(private readonly onReturn: () => void) {}

  push(event: T): void {
    if (this.ended) return;
    if (this.waiter) {
      const resolve = this.waiter;
      this.waiter = undefined;
      resolve({ value: event, done: false });
    } else {
      this.buffered.push(event);
    }
  }

  end(): void {
    this.ended = true;
    if (this.waiter && this.buffered.length === 0) {
      const resolve = this.waiter;
      this.waiter = undefined;
      resolve({ value: undefined, done: true });
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        const event = this.buffered.shift();
        if (event !== undefined) return Promise.resolve({ value: event, done: false });
        if (this.ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => {
          this.waiter = resolve;
        });
      },
      return: () => {
        this.onReturn();
        this.buffered.length = 0;
        this.ended = true;
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
