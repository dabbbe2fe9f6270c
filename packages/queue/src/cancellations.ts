// Cancellation through Redis: the gateway publishes a request id on the model's cancel channel; every runner
// listens and aborts the request if it runs it (the engine frees the slot within one step).
import { LlmError } from "@llm/errors";
import type { RedisClient } from "@llm/redis";

export class CancelListener {
  private readonly running = new Map<string, AbortController>();

  /** `subscriber` becomes a pub/sub connection (it resubscribes by itself after a reconnect). */
  private constructor(private readonly subscriber: RedisClient) {
    subscriber.on("message", (_channel: string, requestId: string) => {
      this.running
        .get(requestId)
        ?.abort(new LlmError("cancelled", `request "${requestId}" was cancelled through the cluster`));
    });
  }

  static async listen(subscriber: RedisClient, channel: string): Promise<CancelListener> {
    const listener = new CancelListener(subscriber);
    await subscriber.subscribe(channel);
    return listener;
  }

  /** A signal that aborts when the request is cancelled; `release` once it ended. */
  track(requestId: string): { signal: AbortSignal; abort(reason: unknown): void; release(): void } {
    const controller = new AbortController();
    this.running.set(requestId, controller);
    return {
      signal: controller.signal,
      abort: (reason) => controller.abort(reason),
      release: () => {
        if (this.running.get(requestId) === controller) this.running.delete(requestId);
      },
    };
  }

  close(): void {
    this.subscriber.disconnect();
  }
}

export async function publishCancel(redis: RedisClient, channel: string, requestId: string): Promise<void> {
  await redis.publish(channel, requestId);
}
