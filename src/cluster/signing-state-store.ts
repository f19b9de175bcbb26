import { Injectable, Logger } from '@nestjs/common';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { StateStore } from './state-store';

/** Why a message or value from the store was not believed. */
export const REJECTION_REASONS = ['unsigned', 'bad-signature', 'stale', 'replayed'] as const;
export type RejectionReason = (typeof REJECTION_REASONS)[number];

/** Counts of what was dropped, by reason: the metrics module reads them at scrape time. */
@Injectable()
export class ClusterMessageRejections {
  private readonly counts: Record<RejectionReason, number> = {
    unsigned: 0,
    'bad-signature': 0,
    stale: 0,
    replayed: 0,
  };

  add(reason: RejectionReason): void {
    this.counts[reason]++;
  }

  snapshot(): Readonly<Record<RejectionReason, number>> {
    return { ...this.counts };
  }
}

/** Keys whose values other instances act on: lease holders, heartbeat records, version vetoes. */
export const SIGNED_KEYS = (key: string): boolean =>
  key.startsWith('leases:') || key.startsWith('instances:') || key.startsWith('vetoes:');

/**
 * A broadcast older than this (or this far ahead of our clock) is stale:
 * pub/sub delivers in milliseconds, and 30 s leaves room for clock skew
 * between hosts kept by NTP. Signatures seen within it are kept to drop replays.
 */
const MAX_MESSAGE_AGE_MS = 30_000;
/** Rejections of one reason are logged at most this often (the counter has them all). */
const LOG_EVERY_MS = 60_000;
const VERSION = 'mg1';
/** base64url of a SHA-256 HMAC. */
const SIGNATURE_LENGTH = 43;

/**
 * The cluster's state store with every message between instances signed
 * (HMAC-SHA256 with API_CLUSTER_SECRET, shared by the instances and no one
 * else): broadcasts on every channel, and the values of the keys instances act
 * on (`SIGNED_KEYS`: lease holders, heartbeat records). Counters (rate limits)
 * are left as they are: INCR needs a number.
 *
 * What this protects, and what it cannot: the HMAC protects messages, not
 * Redis. Someone who can reach Redis but not the secret cannot make an
 * instance load a version (a forged or replayed broadcast is dropped and
 * counted), cannot name a holder of a lease (a forged holder reads as no
 * holder; the next campaign deletes it and takes the lease), and cannot list
 * a fake instance. They can still deny service: delete or overwrite keys
 * (a forged lease value blocks the lease until a campaign clears it, once per
 * heartbeat), spend rate-limit budgets, flush the database, or copy a genuine
 * signed value back under its own key (it names a real instance, so at worst
 * revives a stale record until it expires). Hence Redis needs a password or
 * an ACL user and TLS on any network others share (see deployment/README.md).
 *
 * Signatures cover the key (or channel) too, so a value cannot be moved to
 * another key, and a broadcast carries its time and a nonce, so an old one
 * cannot be replayed to move instances back to a version they left.
 */
export class SigningStateStore implements StateStore {
  private readonly logger = new Logger(SigningStateStore.name);
  private readonly loggedAt = new Map<RejectionReason, number>();

  constructor(
    private readonly inner: StateStore,
    private readonly secret: string,
    readonly rejections = new ClusterMessageRejections(),
    private readonly signedKey: (key: string) => boolean = SIGNED_KEYS,
    private readonly now: () => number = Date.now,
  ) {
    if (secret.length === 0) throw new Error('a SigningStateStore needs a secret');
  }

  get kind(): StateStore['kind'] {
    return this.inner.kind;
  }

  get target(): string {
    return this.inner.target;
  }

  get connected(): boolean {
    return this.inner.connected;
  }

  start(): Promise<void> {
    return this.inner.start();
  }

  stop(): Promise<void> {
    return this.inner.stop();
  }

  ping(): Promise<number> {
    return this.inner.ping();
  }

  async get(key: string): Promise<string | undefined> {
    const stored = await this.inner.get(key);
    return stored === undefined ? undefined : this.open(key, stored);
  }

  set(key: string, value: string, ttlMs?: number): Promise<void> {
    return this.inner.set(key, this.seal(key, value), ttlMs);
  }

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    const sealed = this.seal(key, value);
    if (await this.inner.setIfAbsent(key, sealed, ttlMs)) return true;
    if (!this.signedKey(key)) return false;
    // Held by a value no instance wrote: clear it (only if still that value) and try once more.
    const current = await this.inner.get(key);
    if (current === undefined || this.open(key, current) !== undefined) return false;
    await this.inner.deleteIfHolds(key, current);
    return this.inner.setIfAbsent(key, sealed, ttlMs);
  }

  extendIfHolds(key: string, value: string, ttlMs: number): Promise<boolean> {
    return this.inner.extendIfHolds(key, this.seal(key, value), ttlMs);
  }

  deleteIfHolds(key: string, value: string): Promise<boolean> {
    return this.inner.deleteIfHolds(key, this.seal(key, value));
  }

  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }

  async entries(prefix: string): Promise<Map<string, string>> {
    const opened = new Map<string, string>();
    for (const [key, stored] of await this.inner.entries(prefix)) {
      const value = this.open(key, stored);
      if (value !== undefined) opened.set(key, value);
    }
    return opened;
  }

  increment(key: string, ttlMs: number): Promise<number> {
    return this.inner.increment(key, ttlMs);
  }

  publish(channel: string, message: string): Promise<void> {
    const at = String(this.now());
    const nonce = randomBytes(12).toString('base64url');
    const signature = this.mac(`message\0${channel}\0${at}\0${nonce}\0${message}`);
    return this.inner.publish(channel, `${VERSION}.${signature}.${at}.${nonce}.${message}`);
  }

  subscribe(channel: string, handler: (message: string) => void): Promise<() => Promise<void>> {
    // Signatures received within MAX_MESSAGE_AGE_MS, and when each may be forgotten: per
    // subscription, as each handler is given every message once.
    const seen = new Map<string, number>();
    return this.inner.subscribe(channel, (raw) => {
      const message = this.receive(channel, raw, seen);
      if (message !== undefined) handler(message);
    });
  }

  onConnectionChange(listener: (connected: boolean) => void): () => void {
    return this.inner.onConnectionChange(listener);
  }

  /** The value as stored: signed for the keys instances act on. Deterministic, so compare-and-act works. */
  private seal(key: string, value: string): string {
    if (!this.signedKey(key)) return value;
    return `${VERSION}.${this.mac(`value\0${key}\0${value}`)}.${value}`;
  }

  /** The value a stored one carries, or undefined (counted) when no instance wrote it. */
  private open(key: string, stored: string): string | undefined {
    if (!this.signedKey(key)) return stored;
    const parsed = splitSigned(stored, 1);
    if (!parsed) return this.reject('unsigned', `key ${key}`);
    const [signature, value] = parsed;
    if (!this.verify(signature, `value\0${key}\0${value}`)) {
      return this.reject('bad-signature', `key ${key}`);
    }
    return value;
  }

  private receive(channel: string, raw: string, seen: Map<string, number>): string | undefined {
    const parsed = splitSigned(raw, 3);
    if (!parsed) return this.reject('unsigned', `channel ${channel}`);
    const [signature, at, nonce, message] = parsed;
    if (!this.verify(signature, `message\0${channel}\0${at}\0${nonce}\0${message}`)) {
      return this.reject('bad-signature', `channel ${channel}`);
    }
    const now = this.now();
    if (!/^\d+$/.test(at) || Math.abs(now - Number(at)) > MAX_MESSAGE_AGE_MS) {
      return this.reject('stale', `channel ${channel}`);
    }
    for (const [old, forgetAt] of seen) if (forgetAt <= now) seen.delete(old);
    if (seen.has(signature)) return this.reject('replayed', `channel ${channel}`);
    seen.set(signature, Number(at) + MAX_MESSAGE_AGE_MS);
    return message;
  }

  private mac(text: string): string {
    return createHmac('sha256', this.secret).update(text).digest('base64url');
  }

  private verify(signature: string, text: string): boolean {
    const expected = Buffer.from(this.mac(text));
    const given = Buffer.from(signature);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private reject(reason: RejectionReason, where: string): undefined {
    this.rejections.add(reason);
    const now = this.now();
    if (now - (this.loggedAt.get(reason) ?? -Infinity) >= LOG_EVERY_MS) {
      this.loggedAt.set(reason, now);
      this.logger.warn(
        `dropped a ${reason} message (${where}): is another deployment, or someone else, writing to this Redis with a different API_CLUSTER_SECRET?`,
      );
    }
    return undefined;
  }
}

/**
 * `mg1.<signature>.<f1>…<fN>.<rest>` → [signature, f1…fN, rest]: `fixed` dot-free
 * fields (the signature first) and then the rest, which may hold dots;
 * undefined when the text is not that shape.
 */
function splitSigned(text: string, fixed: number): string[] | undefined {
  if (!text.startsWith(`${VERSION}.`)) return undefined;
  const fields: string[] = [];
  let from = VERSION.length + 1;
  for (let n = 0; n < fixed; n++) {
    const dot = text.indexOf('.', from);
    if (dot < 0) return undefined;
    fields.push(text.slice(from, dot));
    from = dot + 1;
  }
  fields.push(text.slice(from));
  return fields[0].length === SIGNATURE_LENGTH ? fields : undefined;
}
