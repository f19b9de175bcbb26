import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnModuleDestroy,
} from '@nestjs/common';
import { OnAppEvent } from '../common/events/event-bus';
import { ModelResolvedEvent, RepositoryChangedEvent } from '../common/events/event-map';
import { isRecord, messageOf } from '../common/values';
import { ModelRegistry } from '../models/model-registry.service';
import { ClusterService } from './cluster.service';
import { STATE_STORE, StateStore } from './state-store';

const CHANNEL = 'reloads';

/** "Reference R names version V now", as one instance tells the others. */
interface ReloadMessage {
  origin: string;
  reference: string;
  version: string;
  trigger: string;
  /** When the origin resolved it (ISO time), to log how long the news took. */
  at: string;
}

/** "Load (or unload) model M", as a caller of one instance's repository API asked it. */
interface RepositoryMessage {
  origin: string;
  action: 'load' | 'unload';
  name: string;
  trigger: string;
  at: string;
}

/**
 * Keeps every instance on the version the registry names, whichever instance
 * asked: each resolution (reload endpoint, Airflow callback, refresh job,
 * first load) is published on the `reloads` channel the moment MLflow
 * answers, and every other instance serving that reference moves to the same
 * version, loading it in parallel with the origin. Loads and unloads asked
 * of one instance's repository API go out the same way, and every other
 * instance loads or unloads that model too. Instances never re-publish what
 * they were told, so nothing echoes.
 *
 * Messages are fire-and-forget: one published while an instance is cut off
 * from the store is lost to it, so an instance whose store comes back
 * resolves everything it serves against MLflow once (it catches up).
 */
@Injectable()
export class ReloadBroadcast implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ReloadBroadcast.name);
  private unsubscribe?: () => Promise<void>;
  private subscribing?: Promise<void>;
  private stopConnectionWatch?: () => void;
  private closed = false;

  constructor(
    private readonly registry: ModelRegistry,
    private readonly cluster: ClusterService,
    @Inject(STATE_STORE) private readonly store: StateStore,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.stopConnectionWatch = this.store.onConnectionChange((connected) => {
      if (connected) void this.catchUp();
    });
    await this.subscribe();
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    this.stopConnectionWatch?.();
    await this.unsubscribe?.().catch(() => undefined);
  }

  private subscribe(): Promise<void> {
    if (this.unsubscribe || this.closed) return Promise.resolve();
    this.subscribing ??= this.store
      .subscribe(CHANNEL, (message) => this.receive(message))
      .then((unsubscribe) => {
        this.unsubscribe = unsubscribe;
      })
      .catch((error: unknown) =>
        this.logger.warn(
          `not following peers' reloads until the state store is back: ${messageOf(error)}`,
        ),
      )
      .finally(() => (this.subscribing = undefined));
    return this.subscribing;
  }

  /** The store is back: listen again if we never could, and resolve what we serve ourselves. */
  private async catchUp(): Promise<void> {
    await this.subscribe();
    const outcomes = await this.registry.reloadAll('resync after the state store came back');
    const moved = outcomes.filter((o) => o.status === 'swapped');
    this.logger.log(
      `resynchronised after the state store came back: ${
        moved.length
          ? moved.map((o) => `${o.reference} → v${o.to}`).join(', ')
          : 'nothing had moved'
      }`,
    );
  }

  /** Every resolution made here goes out to the peers. */
  @OnAppEvent('model.resolved')
  async publish(event: ModelResolvedEvent): Promise<void> {
    const message: ReloadMessage = {
      origin: this.cluster.instanceId,
      reference: event.reference,
      version: event.version,
      trigger: event.trigger,
      at: new Date().toISOString(),
    };
    try {
      await this.store.publish(CHANNEL, JSON.stringify(message));
    } catch {
      // Peers catch up when the store is back (catchUp); the store logs the outage once.
    }
  }

  /** A load or unload asked of this instance's repository API goes out to the peers. */
  @OnAppEvent('repository.changed')
  async publishRepositoryChange(event: RepositoryChangedEvent): Promise<void> {
    const message: RepositoryMessage = {
      origin: this.cluster.instanceId,
      action: event.action,
      name: event.name,
      trigger: event.trigger,
      at: new Date().toISOString(),
    };
    try {
      await this.store.publish(CHANNEL, JSON.stringify(message));
    } catch {
      // Lost to the peers: a load shows up there on the next request or reload, an unload does not.
    }
  }

  private receive(raw: string): void {
    const message = parseMessage(raw) ?? parseRepositoryMessage(raw);
    if (!message) {
      this.logger.warn(`ignored a malformed message on ${CHANNEL}`);
      return;
    }
    if (message.origin === this.cluster.instanceId) return;
    if ('action' in message) {
      this.applyRepositoryChange(message);
      return;
    }
    const trigger = `peer ${message.origin}: ${message.trigger}`;
    void this.registry
      .followVersion(message.reference, message.version, trigger)
      .then((outcome) => {
        if (outcome?.status === 'swapped') {
          const lag = Date.now() - Date.parse(message.at);
          this.logger.log(
            `${message.reference}: followed ${message.origin} to v${message.version} (${lag} ms after it resolved)`,
          );
        }
      })
      .catch((error: unknown) =>
        this.logger.error(
          `${message.reference}: cannot follow to v${message.version}: ${messageOf(error)}`,
        ),
      );
  }

  /** Does here what a peer's repository API was asked; a refusal here (MODELS lists it) is logged. */
  private applyRepositoryChange(message: RepositoryMessage): void {
    const trigger = `peer ${message.origin}: ${message.trigger}`;
    const change =
      message.action === 'load'
        ? this.registry.loadModel(message.name, trigger).then((outcomes) => {
            const failed = outcomes.find((o) => o.status === 'failed');
            if (failed) throw new Error(failed.error);
          })
        : this.registry.unloadModel(message.name).then(() => undefined);
    void change
      .then(() => this.logger.log(`${message.name}: ${message.action}ed, as ${trigger}`))
      .catch((error: unknown) =>
        this.logger.error(
          `${message.name}: cannot ${message.action} it as ${trigger}: ${messageOf(error)}`,
        ),
      );
  }
}

function parseMessage(raw: string): ReloadMessage | undefined {
  const value = parseRecord(raw);
  if (!value) return undefined;
  const { origin, reference, version, trigger, at } = value;
  if ([origin, reference, version, trigger, at].every((v) => typeof v === 'string')) {
    return value as unknown as ReloadMessage;
  }
  return undefined;
}

function parseRepositoryMessage(raw: string): RepositoryMessage | undefined {
  const value = parseRecord(raw);
  if (!value || (value.action !== 'load' && value.action !== 'unload')) return undefined;
  const { origin, name, trigger, at } = value;
  if ([origin, name, trigger, at].every((v) => typeof v === 'string')) {
    return value as unknown as RepositoryMessage;
  }
  return undefined;
}

function parseRecord(raw: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(raw);
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined; // not JSON
  }
}
