import type { IpcChannel, IpcEnvelope } from '../ipc/ipc-endpoint';

/** Both ends of a fake IPC channel, and a way to cut it or hold its messages back. */
export interface IpcChannelPair {
  /** The worker's end (its channel to the primary). */
  worker: IpcChannel;
  /** The primary's end (its channel to that worker). */
  primary: IpcChannel;
  /** Closes both ends, as a worker's exit does. */
  close(): void;
  /** While true, messages towards the primary are dropped (a primary that does not answer). */
  muted: boolean;
}

/**
 * Two IpcChannels joined as node:cluster joins a primary and a worker:
 * messages arrive on a later turn of the event loop, as JSON (Node's default
 * serialization), so what cannot cross a real channel cannot cross this one.
 */
export function ipcChannelPair(): IpcChannelPair {
  type Listener = (message: unknown) => void;
  const listeners = { worker: new Set<Listener>(), primary: new Set<Listener>() };
  const closers = { worker: new Set<() => void>(), primary: new Set<() => void>() };
  let open = true;
  const pair: IpcChannelPair = {
    muted: false,
    close: () => {
      if (!open) return;
      open = false;
      setImmediate(() => [...closers.worker, ...closers.primary].forEach((close) => close()));
    },
    worker: end('worker', 'primary'),
    primary: end('primary', 'worker'),
  };
  function end(self: 'worker' | 'primary', other: 'worker' | 'primary'): IpcChannel {
    return {
      send: (message: IpcEnvelope) => {
        if (!open) return false;
        if (other === 'primary' && pair.muted) return true;
        const copy: unknown = JSON.parse(JSON.stringify(message));
        setImmediate(() => {
          if (open) for (const listener of [...listeners[other]]) listener(copy);
        });
        return true;
      },
      onMessage: (listener) => {
        listeners[self].add(listener);
        return () => listeners[self].delete(listener);
      },
      onClose: (listener) => {
        closers[self].add(listener);
        return () => closers[self].delete(listener);
      },
    };
  }
  return pair;
}
