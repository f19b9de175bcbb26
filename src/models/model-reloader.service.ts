import { SpanStatusCode } from '@opentelemetry/api';
import { Inject, Injectable, Logger, OnModuleDestroy, Optional } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { EventBus } from '../common/events/event-bus';
import {
  ModelReference,
  formatModelReference,
  parseModelReference,
} from '../common/model-reference';
import { inSpan, inSpanSync } from '../common/tracing/spans';
import { messageOf } from '../common/values';
import { RollbackConfig, rollbackConfig } from '../config/rollback.config';
import { ModelVersion } from '../mlflow/mlflow.types';
import { LoadedModel } from './loaded-model';
import { LoadedVersions } from './loaded-versions.service';
import { ModelBinding } from './model-binding';
import { ModelBindings } from './model-bindings.service';
import { ModelResolver } from './model-resolver.service';
import { ReloadJournal, ReloadOutcome } from './reload-journal';
import { VersionVeto, VersionVetoes } from './version-vetoes';

/**
 * Moves bindings between versions (after MLServer's registry.py): resolve
 * what the reference names, load and warm the new version while the old one
 * serves, swap, then retire the old one once its requests are done. A failed
 * load leaves the old version serving and is reported. One reload per
 * binding at a time; a peer's version (`followVersion`) waits for the
 * reload under way, so the last version told wins. A vetoed version
 * (VersionVetoes) is never swapped in for its reference: the binding keeps
 * what it serves, or loads the veto's fallback when it serves nothing yet.
 */
@Injectable()
export class ModelReloader implements OnModuleDestroy {
  private readonly logger = new Logger(ModelReloader.name);
  readonly journal = new ReloadJournal();
  swaps = 0;
  /** Replaced versions kept loaded while their successor is watched, by `name/version`. */
  private readonly standing = new Map<string, NodeJS.Timeout>();

  constructor(
    @Inject(ModelResolver) private readonly resolver: Pick<ModelResolver, 'resolve'>,
    private readonly versions: LoadedVersions,
    private readonly bindings: ModelBindings,
    private readonly events: EventBus,
    private readonly vetoes: VersionVetoes = new VersionVetoes(),
    @Optional()
    @Inject(rollbackConfig.KEY)
    private readonly rollout?: Pick<RollbackConfig, 'standbyMs'>,
  ) {}

  onModuleDestroy(): void {
    for (const timer of this.standing.values()) clearTimeout(timer);
    this.standing.clear();
  }

  /**
   * The binding's first load, started once: later callers share it.
   * @param targetOf the version to load; what the reference names in MLflow
   *   now (listeners hear of it) unless given.
   */
  firstLoad(
    binding: ModelBinding,
    trigger: string,
    targetOf: () => Promise<ModelVersion> = () => this.resolve(binding, trigger),
  ): Promise<LoadedModel> {
    if (!binding.pending) {
      binding.pending = inSpan('first-load', spanAttributes(binding, trigger), () =>
        this.loadFirst(binding, trigger, targetOf),
      );
      binding.pending.catch(() => undefined);
    }
    return binding.pending;
  }

  /** Follows the registry for one reference: loads and swaps in a new version if there is one. */
  reload(binding: ModelBinding, trigger: string): Promise<ReloadOutcome> {
    binding.reloading ??= this.follow(binding, trigger, () =>
      this.resolve(binding, trigger),
    ).finally(() => (binding.reloading = undefined));
    return binding.reloading;
  }

  /**
   * Moves one served reference to a version another instance resolved,
   * without asking MLflow what the reference names; after any reload of it
   * already under way. A reference not served here is left alone (undefined).
   * One whose first load failed here (MLflow was down at start, or the model
   * was not registered yet) loads that version now: in a cluster only the
   * leader polls, so a peer's news is the only thing that would retry it.
   */
  async followVersion(
    reference: string,
    version: string,
    trigger: string,
  ): Promise<ReloadOutcome | undefined> {
    const binding = this.bindings.get(reference);
    if (!binding) return undefined;
    while (binding.reloading || binding.pending) {
      await Promise.allSettled([binding.reloading, binding.pending]);
    }
    if (binding.model?.version === version) {
      return { reference, status: 'unchanged', from: version, to: version };
    }
    if (this.vetoes.blocks(reference, version)) {
      return { reference, status: 'vetoed', from: binding.model?.version, to: version };
    }
    const exact: ModelReference = {
      name: binding.ref.name,
      selector: { kind: 'version', version },
    };
    // Not told on: only this instance's own resolutions go out (nothing echoes).
    const target = () => this.resolveSpan(exact);
    binding.reloading = this.follow(binding, trigger, target, target).finally(
      () => (binding.reloading = undefined),
    );
    return binding.reloading;
  }

  /**
   * Records the veto and, when the binding serves the vetoed version, moves
   * it to the fallback (after any reload under way, as a peer's version).
   */
  async veto(veto: VersionVeto, trigger: string): Promise<ReloadOutcome | undefined> {
    this.vetoes.set(veto);
    const binding = this.bindings.get(veto.reference);
    if (!binding) return undefined;
    while (binding.reloading || binding.pending) {
      await Promise.allSettled([binding.reloading, binding.pending]);
    }
    if (binding.model?.version !== veto.version) {
      return {
        reference: veto.reference,
        status: 'unchanged',
        from: binding.model?.version,
        to: binding.model?.version,
      };
    }
    this.logger.warn(
      `${veto.reference}: v${veto.version} is vetoed (${veto.reason}); moving back to v${veto.fallback}`,
    );
    return this.followVersion(veto.reference, veto.fallback, trigger);
  }

  /**
   * Lifts the veto of `reference` here and tells listeners (the rollback
   * module deletes the shared record and tells the peers); undefined when none
   * stands. With `quiet` (a peer's news), only a veto of `version` is lifted
   * and nobody is told.
   */
  liftVeto(
    reference: string,
    cause: string,
    options: { quiet?: boolean; version?: string } = {},
  ): VersionVeto | undefined {
    const veto = this.vetoes.of(reference);
    if (!veto || (options.version !== undefined && veto.version !== options.version)) {
      return undefined;
    }
    this.vetoes.lift(reference);
    this.logger.warn(`${reference}: the veto of v${veto.version} is lifted (${cause})`);
    if (!options.quiet) {
      const name = this.bindings.get(reference)?.ref.name ?? parseModelReference(reference).name;
      this.events.emit('model.vetoLifted', { reference, name, version: veto.version, cause });
    }
    return veto;
  }

  /**
   * A veto lapses once the reference names another version: the operator (or
   * a later promotion) moved the alias, so moving it back means serving that
   * version again.
   */
  private lapse(reference: string, version: string): void {
    const veto = this.vetoes.of(reference);
    if (veto && veto.version !== version) {
      this.liftVeto(reference, `the reference names v${version} now`);
    }
  }

  /**
   * Resolves a reference this instance does not serve and tells listeners,
   * so the reload broadcast takes the version to the peers that do serve it
   * (a registry webhook reaches one instance, which may not serve it).
   */
  async announce(ref: ModelReference, trigger: string): Promise<ModelVersion> {
    const version = await this.resolveSpan(ref);
    this.lapse(formatModelReference(ref), version.version);
    this.events.emit('model.resolved', {
      reference: formatModelReference(ref),
      name: version.name,
      version: version.version,
      trigger,
    });
    return version;
  }

  private async loadFirst(
    binding: ModelBinding,
    trigger: string,
    targetOf: () => Promise<ModelVersion>,
  ): Promise<LoadedModel> {
    // Loads started at bootstrap must not tell their events before anyone listens.
    await this.events.whenListening();
    try {
      const version = await this.unlessVetoed(binding, await targetOf());
      const model = await this.versions.load(version);
      binding.model = model;
      binding.state = 'ready';
      binding.lastError = undefined;
      this.journal.record({ reference: binding.key, status: 'loaded', to: model.version }, trigger);
      return model;
    } catch (error) {
      binding.state = 'failed';
      binding.lastError = { message: messageOf(error), at: new Date() };
      this.journal.record(
        { reference: binding.key, status: 'failed', error: messageOf(error) },
        trigger,
      );
      this.logger.error(`cannot serve ${binding.key}: ${messageOf(error)}`);
      // A name asked for once and not found is not kept: unknown names must not
      // pile up. A challenger is kept: its alias may be set later, and polling retries it.
      if (!binding.pinned && !binding.challenger) this.bindings.remove(binding.key);
      throw error;
    } finally {
      binding.pending = undefined;
    }
  }

  /**
   * Unloads a replaced version once unused; but with ROLLOUT_KEEP_REPLACED,
   * while the rollback watch watches its successor (a reference by alias) it
   * stays loaded — still within the cache's bounds, which may
   * evict it — so a rollback swaps back without loading it again (a pyfunc
   * version's Python workers take seconds to start).
   */
  private retire(binding: ModelBinding, replaced: LoadedModel, next: LoadedModel): void {
    // Back to the version kept standing (a rollback): the one left is not kept in turn.
    const back = this.standing.has(next.key);
    clearTimeout(this.standing.get(next.key));
    this.standing.delete(next.key);
    const standbyMs =
      !back && binding.ref.selector.kind === 'alias' ? (this.rollout?.standbyMs ?? 0) : 0;
    clearTimeout(this.standing.get(replaced.key));
    this.standing.delete(replaced.key);
    if (standbyMs === 0) {
      void this.versions.retireIfUnused(replaced);
      return;
    }
    const timer = setTimeout(() => {
      this.standing.delete(replaced.key);
      void this.versions.retireIfUnused(replaced);
    }, standbyMs);
    timer.unref();
    this.standing.set(replaced.key, timer);
  }

  /** `version`, or the veto's fallback when the binding must not serve it. */
  private async unlessVetoed(binding: ModelBinding, version: ModelVersion): Promise<ModelVersion> {
    const veto = this.vetoes.of(binding.key);
    if (veto?.version !== version.version) return version;
    this.logger.warn(
      `${binding.key}: v${veto.version} is vetoed (${veto.reason}); loading v${veto.fallback}`,
    );
    return this.resolver.resolve({
      name: binding.ref.name,
      selector: { kind: 'version', version: veto.fallback },
    });
  }

  /** What the binding's reference names in MLflow now; listeners hear of it. */
  private async resolve(binding: ModelBinding, trigger: string): Promise<ModelVersion> {
    const version = await this.resolveSpan(binding.ref);
    binding.lastCheckedAt = new Date();
    this.lapse(binding.key, version.version);
    this.events.emit('model.resolved', {
      reference: binding.key,
      name: version.name,
      version: version.version,
      trigger,
    });
    return version;
  }

  /** The version a reference names in MLflow now, in its own span (the registry call is its child). */
  private resolveSpan(ref: ModelReference): Promise<ModelVersion> {
    return inSpan(
      'resolve',
      { 'modelgate.model.reference': formatModelReference(ref) },
      async (span) => {
        const version = await this.resolver.resolve(ref);
        span.setAttribute('modelgate.model.version', version.version);
        return version;
      },
    );
  }

  /** {@link move} in a `reload` span, whose children are resolve, download, load, warm and swap. */
  private follow(
    binding: ModelBinding,
    trigger: string,
    targetOf: () => Promise<ModelVersion>,
    firstTargetOf?: () => Promise<ModelVersion>,
  ): Promise<ReloadOutcome> {
    return inSpan('reload', spanAttributes(binding, trigger), async (span) => {
      const outcome = await this.move(binding, trigger, targetOf, firstTargetOf);
      span.setAttributes({
        'modelgate.reload.status': outcome.status,
        ...(outcome.from !== undefined ? { 'modelgate.reload.from': outcome.from } : {}),
        ...(outcome.to !== undefined ? { 'modelgate.reload.to': outcome.to } : {}),
      });
      // A failed reload answers (the old version keeps serving), so it throws nothing to record.
      if (outcome.status === 'failed') {
        span.setStatus({ code: SpanStatusCode.ERROR, message: 'reload failed' });
      }
      return outcome;
    });
  }

  /** @param firstTargetOf what a binding with nothing loaded yet loads (firstLoad's default). */
  private async move(
    binding: ModelBinding,
    trigger: string,
    targetOf: () => Promise<ModelVersion>,
    firstTargetOf?: () => Promise<ModelVersion>,
  ): Promise<ReloadOutcome> {
    const reference = binding.key;
    const current = binding.model;
    if (!current) {
      try {
        const model = await this.firstLoad(binding, trigger, firstTargetOf);
        return { reference, status: 'loaded', to: model.version };
      } catch (error) {
        return { reference, status: 'failed', error: messageOf(error) };
      }
    }
    let target: ModelVersion;
    try {
      target = await targetOf();
    } catch (error) {
      // The registry is unreachable or the alias is gone: keep serving what we have.
      binding.lastError = { message: messageOf(error), at: new Date() };
      return { reference, status: 'failed', from: current.version, error: messageOf(error) };
    }
    if (target.version === current.version) {
      return { reference, status: 'unchanged', from: current.version, to: current.version };
    }
    if (this.vetoes.blocks(reference, target.version)) {
      // Not journaled: the refresh job would add one entry a poll while the alias names it.
      return { reference, status: 'vetoed', from: current.version, to: target.version };
    }
    const started = performance.now();
    try {
      const next = await this.versions.load(target);
      inSpanSync(
        'swap',
        { 'modelgate.reload.from': current.version, 'modelgate.reload.to': next.version },
        () => {
          binding.model = next;
          binding.state = 'ready';
          binding.lastError = undefined;
          this.swaps++;
          this.logger.log(
            `${reference}: now serving v${next.version} (was v${current.version}; ${trigger})`,
          );
          this.swapped(binding, current.version, next.version, 'swapped', started);
          this.retire(binding, current, next);
        },
      );
      return this.journal.record(
        { reference, status: 'swapped', from: current.version, to: next.version },
        trigger,
      );
    } catch (error) {
      this.swapped(binding, current.version, target.version, 'failed', started);
      binding.lastError = { message: messageOf(error), version: target.version, at: new Date() };
      this.logger.error(
        `${reference}: v${target.version} failed to load, v${current.version} keeps serving: ${messageOf(error)}`,
      );
      return this.journal.record(
        {
          reference,
          status: 'failed',
          from: current.version,
          to: target.version,
          error: messageOf(error),
        },
        trigger,
      );
    }
  }

  private swapped(
    binding: ModelBinding,
    from: string,
    to: string,
    outcome: 'swapped' | 'failed',
    started: number,
  ): void {
    this.events.emit('model.swapped', {
      reference: binding.key,
      name: binding.ref.name,
      from,
      to,
      outcome,
      durationMs: performance.now() - started,
    });
  }
}

function spanAttributes(binding: ModelBinding, trigger: string): Record<string, string> {
  return { 'modelgate.model.reference': binding.key, 'modelgate.reload.trigger': trigger };
}
