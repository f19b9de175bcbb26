import type { EventEmitter } from 'node:events';

/**
 * How a request learns that its caller left before its answer: `aborted`
 * now, or `onAbort` later (the function it returns stops watching). What a
 * request waiting in its model's batch queue watches, so that it is dropped
 * instead of run.
 *
 * Not an AbortSignal: every prediction would make an AbortController (an
 * EventTarget, its signal and a listener), measured at ~4% of the bytes a
 * 1-row prediction allocates, for the rare caller that leaves. The sources
 * below watch the connection or the call that exists anyway.
 */
export interface CancelSignal {
  readonly aborted: boolean;
  onAbort(listener: () => void): () => void;
}

/** An HTTP answer's response: aborted once it closed before its answer was written. */
export function responseCancelSignal(
  response: EventEmitter & { readonly destroyed: boolean; readonly writableFinished: boolean },
): CancelSignal {
  return {
    get aborted() {
      // Node marks the response destroyed when it closes, for either reason.
      return response.destroyed && !response.writableFinished;
    },
    onAbort(listener) {
      const closed = (): void => {
        if (!response.writableFinished) listener();
      };
      response.once('close', closed);
      return () => response.removeListener('close', closed);
    },
  };
}

/** A gRPC call's: aborted once the client cancelled it (or its deadline passed). */
export function callCancelSignal(
  call: EventEmitter & { readonly cancelled: boolean },
): CancelSignal {
  return {
    get aborted() {
      return call.cancelled;
    },
    onAbort(listener) {
      call.once('cancelled', listener);
      return () => call.removeListener('cancelled', listener);
    },
  };
}
