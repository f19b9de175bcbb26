import type { Worker } from 'node:cluster';
import { messageOf } from '../../common/values';

/**
 * One end of a message channel between two processes of one host: the
 * primary's end of a worker (cluster's `worker.send`), or a worker's end
 * (`process.send`). Messages are structured-cloned by Node (the `advanced`
 * serialization the primary forks with) or JSON (the default).
 */
export interface IpcChannel {
  /** Sends `message`; false when the channel is closed (the message is dropped). */
  send(message: IpcEnvelope): boolean;
  /** Calls `listener` with every message that arrives; returns an unsubscribe. */
  onMessage(listener: (message: unknown) => void): () => void;
  /** Calls `listener` once the channel closes (the other process exited or disconnected). */
  onClose(listener: () => void): () => void;
}

/** Marks Modelgate's messages among whatever else travels on the channel. */
const TAG = 'modelgate.ipc.1';

export type IpcEnvelope =
  | { tag: typeof TAG; type: 'request'; id: number; topic: string; body: unknown }
  | {
      tag: typeof TAG;
      type: 'reply';
      id: number;
      ok: boolean;
      body?: unknown;
      error?: IpcErrorBody;
    }
  | { tag: typeof TAG; type: 'note'; topic: string; body: unknown };

/** An error as it crosses the channel: enough to rebuild the class the caller acts on. */
export interface IpcErrorBody {
  name: string;
  message: string;
  /** Whatever fields the sender's error class carries (a StoreUnavailableError's target and reason). */
  fields?: Record<string, unknown>;
}

/** The other process did not answer in time, or the channel closed under a request. */
export class IpcTimeoutError extends Error {
  constructor(
    readonly topic: string,
    detail: string,
  ) {
    super(`${topic}: ${detail}`);
    this.name = 'IpcTimeoutError';
  }
}

/** An error the other side threw, rebuilt here with its name, message and fields. */
export class IpcRemoteError extends Error {
  constructor(readonly remote: IpcErrorBody) {
    super(remote.message);
    this.name = remote.name;
  }
}

type Handler = (body: unknown) => unknown;

/**
 * Requests with replies and one-way notes over an IpcChannel. Each request
 * has an id of its own, so replies may come back in any order; one that does
 * not come within `timeoutMs` (or before the channel closes) rejects with an
 * IpcTimeoutError instead of waiting forever. Both ends may ask and answer.
 */
export class IpcEndpoint {
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (body: unknown) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }
  >();
  private readonly handlers = new Map<string, Handler>();
  private readonly listeners = new Map<string, Set<(body: unknown) => void>>();
  private closed = false;
  private readonly detach: (() => void)[];

  constructor(
    private readonly channel: IpcChannel,
    /** How long a request waits for its reply. */
    private readonly timeoutMs: number,
  ) {
    this.detach = [
      channel.onMessage((message) => this.receive(message)),
      channel.onClose(() => this.close('the channel closed')),
    ];
  }

  get open(): boolean {
    return !this.closed;
  }

  /** Asks the other side; resolves with its handler's answer, rejects with its error or on timeout. */
  request<T = unknown>(topic: string, body?: unknown, timeoutMs = this.timeoutMs): Promise<T> {
    if (this.closed) return Promise.reject(new IpcTimeoutError(topic, 'the channel is closed'));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new IpcTimeoutError(topic, `no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (body: unknown) => void, reject, timer });
      const sent = this.channel.send({ tag: TAG, type: 'request', id, topic, body });
      if (!sent) {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(new IpcTimeoutError(topic, 'the channel is closed'));
      }
    });
  }

  /** Answers requests on `topic` (one handler a topic; a later one replaces it). */
  handle(topic: string, handler: (body: unknown) => unknown): void {
    this.handlers.set(topic, handler);
  }

  /** Tells the other side something that needs no answer; false when the channel is closed. */
  notify(topic: string, body?: unknown): boolean {
    if (this.closed) return false;
    return this.channel.send({ tag: TAG, type: 'note', topic, body });
  }

  /** Calls `listener` with every note on `topic`; returns an unsubscribe. */
  on(topic: string, listener: (body: unknown) => void): () => void {
    let set = this.listeners.get(topic);
    if (!set) this.listeners.set(topic, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Stops listening; requests still waiting reject at once. */
  close(reason = 'closed'): void {
    if (this.closed) return;
    this.closed = true;
    this.detach.forEach((detach) => detach());
    for (const [id, { reject, timer }] of this.pending) {
      clearTimeout(timer);
      this.pending.delete(id);
      reject(new IpcTimeoutError('request', reason));
    }
  }

  private receive(message: unknown): void {
    if (!isEnvelope(message)) return;
    if (message.type === 'reply') {
      const waiting = this.pending.get(message.id);
      if (!waiting) return; // timed out already
      this.pending.delete(message.id);
      clearTimeout(waiting.timer);
      if (message.ok) waiting.resolve(message.body);
      else
        waiting.reject(new IpcRemoteError(message.error ?? { name: 'Error', message: 'failed' }));
      return;
    }
    if (message.type === 'note') {
      for (const listener of [...(this.listeners.get(message.topic) ?? [])]) listener(message.body);
      return;
    }
    void this.answer(message.id, message.topic, message.body);
  }

  private async answer(id: number, topic: string, body: unknown): Promise<void> {
    const handler = this.handlers.get(topic);
    try {
      if (!handler) throw new Error(`nothing answers ${topic} here`);
      const result = await handler(body);
      this.channel.send({ tag: TAG, type: 'reply', id, ok: true, body: result });
    } catch (error) {
      this.channel.send({ tag: TAG, type: 'reply', id, ok: false, error: errorBody(error) });
    }
  }
}

function isEnvelope(message: unknown): message is IpcEnvelope {
  return (
    typeof message === 'object' &&
    message !== null &&
    (message as { tag?: unknown }).tag === TAG &&
    typeof (message as { type?: unknown }).type === 'string'
  );
}

function errorBody(error: unknown): IpcErrorBody {
  if (!(error instanceof Error)) return { name: 'Error', message: messageOf(error) };
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(error)) {
    if (['string', 'number', 'boolean'].includes(typeof value)) fields[key] = value;
  }
  return { name: error.name, message: error.message, fields };
}

/** A worker's channel to its primary (`process.send`); undefined when this process has none. */
export function channelToPrimary(): IpcChannel | undefined {
  if (typeof process.send !== 'function') return undefined;
  return {
    send: (message) => {
      if (!process.connected || !process.send) return false;
      // The callback swallows the error of a channel closing under the send (EPIPE).
      return process.send(message, undefined, undefined, () => undefined);
    },
    onMessage: (listener) => {
      process.on('message', listener);
      return () => process.removeListener('message', listener);
    },
    onClose: (listener) => {
      process.once('disconnect', listener);
      return () => process.removeListener('disconnect', listener);
    },
  };
}

/** The primary's channel to one worker (cluster's `worker.send`). */
export function channelToWorker(worker: Worker): IpcChannel {
  return {
    send: (message) => {
      if (!worker.isConnected()) return false;
      return worker.send(message, undefined, () => undefined);
    },
    onMessage: (listener) => {
      worker.on('message', listener);
      return () => worker.removeListener('message', listener);
    },
    onClose: (listener) => {
      const once = () => listener();
      worker.once('disconnect', once);
      return () => worker.removeListener('disconnect', once);
    },
  };
}
