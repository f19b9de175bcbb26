import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { OnAppEvent } from '../../common/events/event-bus';
import { ModelResolvedEvent, ModelSwappedEvent } from '../../common/events/event-map';
import { ModelReference } from '../../common/model-reference';
import { messageOf } from '../../common/values';
import { ModelsConfig, modelsConfig } from '../../config/models.config';
import { RolloutConfig, RolloutSetting, rolloutConfig } from '../../config/rollout.config';
import { MlflowClient } from '../../mlflow/mlflow.client';
import { LoadedVersions } from '../loaded-versions.service';
import { ModelBinding } from '../model-binding';
import { ModelBindings } from '../model-bindings.service';
import { ModelReloader } from '../model-reloader.service';
import { bucketOf, rolloutOf, variantFor } from './rollout-policy';
import { Rollout, RolloutSideView, RolloutView, Variant } from './rollout.types';

/** Which reference answers a request, and which gets a copy of it. */
export interface RolloutRoute {
  /** The reference that answers: the request's own (the champion) or the challenger's. */
  readonly answer: ModelReference;
  readonly variant: Variant;
  /** In shadow mode: the challenger, sent a copy after the champion answered. */
  readonly shadow?: ModelReference;
}

interface RolloutState {
  rollout?: Rollout;
  problems: string[];
  tagsReadAt?: Date;
}

/**
 * Champion and challenger (issue 13): which version answers a request for a
 * model with a rollout. The challenger is one more binding (`name@alias`),
 * so every reload path that moves the champion moves it too (polling,
 * webhooks, the DAG's callback, the reload endpoint, the peers' broadcast);
 * it is bound as a challenger (ModelBinding.challenger): kept when it
 * cannot load yet, never evicted, never needed for readiness.
 *
 * A rollout is MODEL_ROLLOUT's entry with the registered model's tags over
 * it, read again whenever a reference of the model is resolved or swapped
 * (the reads the reload paths make already), so a tag takes effect on the
 * next poll or reload.
 */
@Injectable()
export class Rollouts implements OnApplicationBootstrap {
  private readonly logger = new Logger(Rollouts.name);
  private readonly states = new Map<string, RolloutState>();
  /** A read of one model's tags under way: resolutions arriving meanwhile share it. */
  private readonly reading = new Map<string, Promise<void>>();
  private readonly settings: ReadonlyMap<string, RolloutSetting>;

  constructor(
    private readonly bindings: ModelBindings,
    private readonly reloader: ModelReloader,
    private readonly versions: LoadedVersions,
    @Inject(MlflowClient) private readonly mlflow: Pick<MlflowClient, 'getRegisteredModel'>,
    @Inject(rolloutConfig.KEY)
    private readonly config: Pick<RolloutConfig, 'models' | 'canaryPercent'>,
    @Inject(modelsConfig.KEY) private readonly models: Pick<ModelsConfig, 'defaultAlias'>,
  ) {
    this.settings = new Map(config.models.map((s) => [s.name, s]));
  }

  /** Follows MODEL_ROLLOUT from the start (its challengers load beside MODELS), then the tags. */
  onApplicationBootstrap(): void {
    for (const setting of this.config.models) {
      this.apply(setting.name, rolloutOf(setting.name, setting, {}, this.defaults));
      void this.readTags(setting.name);
    }
  }

  /**
   * Where a request for `ref` goes. Only a request for the champion (its
   * alias, or a bare name it answers) is routed; any other reference (the
   * challenger's alias, a version) answers itself. A challenger with no
   * version loaded yet answers nothing: the champion does.
   * @param callerKey the caller's sticky key, asked only for a canary.
   */
  route(ref: ModelReference, callerKey: () => string): RolloutRoute | undefined {
    const rollout = this.states.get(ref.name)?.rollout;
    if (!rollout || !this.isChampion(ref, rollout)) return undefined;
    const challenger = this.bindings.get(challengerKey(rollout));
    if (!challenger?.model) return { answer: ref, variant: 'champion' };
    if (rollout.mode === 'shadow')
      return { answer: ref, variant: 'champion', shadow: challenger.ref };
    if (rollout.percent === 0) return { answer: ref, variant: 'champion' };
    const variant = variantFor(rollout, bucketOf(rollout.name, callerKey()));
    return { answer: variant === 'challenger' ? challenger.ref : ref, variant };
  }

  /** The rollout of `name`, as readers see it; undefined when it has none. */
  view(name: string): RolloutView | undefined {
    const state = this.states.get(name);
    const rollout = state?.rollout;
    if (!state || !rollout) return undefined;
    return {
      name,
      mode: rollout.mode,
      percent: rollout.percent,
      source: rollout.source,
      champion: side(name, rollout.champion, this.championBinding(rollout)),
      challenger: side(name, rollout.challenger, this.bindings.get(challengerKey(rollout))),
      problems: [...state.problems],
      tagsReadAt: state.tagsReadAt,
    };
  }

  /** Every rollout followed now. */
  views(): RolloutView[] {
    return [...this.states.keys()].flatMap((name) => this.view(name) ?? []);
  }

  @OnAppEvent('model.resolved')
  resolved(e: ModelResolvedEvent): Promise<void> | undefined {
    return this.followTagsOf(e.name, e.reference);
  }

  @OnAppEvent('model.swapped')
  swapped(e: ModelSwappedEvent): Promise<void> | undefined {
    return this.followTagsOf(e.name, e.reference);
  }

  /**
   * Reads the tags again when a reference of a model served here moved or
   * was resolved; not for the challenger's own resolution (its champion's
   * comes with the same poll) nor for a model not served here (announce).
   */
  private followTagsOf(name: string, reference: string): Promise<void> | undefined {
    const served = this.bindings.all().some((b) => b.ref.name === name && !b.challenger);
    const rollout = this.states.get(name)?.rollout;
    if (!served || (rollout && reference === challengerKey(rollout))) return undefined;
    return this.readTags(name);
  }

  private readTags(name: string): Promise<void> {
    let reading = this.reading.get(name);
    if (!reading) {
      reading = this.read(name).finally(() => this.reading.delete(name));
      this.reading.set(name, reading);
    }
    return reading;
  }

  private async read(name: string): Promise<void> {
    let tags: Record<string, string>;
    try {
      tags = (await this.mlflow.getRegisteredModel(name)).tags;
    } catch (error) {
      // MLflow is away: the rollout as last read goes on; the next resolution reads again.
      const state = this.states.get(name);
      if (state) state.problems = [`tags not read: ${messageOf(error)}`];
      return;
    }
    this.apply(name, rolloutOf(name, this.settings.get(name), tags, this.defaults), new Date());
  }

  /** Makes `next` the rollout of `name`: the challenger it names bound and loading, one it no longer names let go. */
  private apply(
    name: string,
    next: { rollout?: Rollout; problems: string[] },
    tagsReadAt?: Date,
  ): void {
    const before = this.states.get(name)?.rollout;
    if (!next.rollout && !before) {
      // No rollout, nothing to let go: nothing kept either, so names without one do not pile up.
      this.states.delete(name);
      return;
    }
    this.states.set(name, { rollout: next.rollout, problems: next.problems, tagsReadAt });
    for (const problem of next.problems) this.logger.warn(`${name}: ${problem}`);
    if (before && before.challenger !== next.rollout?.challenger) this.release(before);
    if (next.rollout && !sameRollout(before, next.rollout)) {
      const r = next.rollout;
      this.logger.log(
        `${name}: ${r.mode} of @${r.challenger} beside @${r.champion}` +
          (r.mode === 'canary' ? ` for ${r.percent}% of callers` : '') +
          ` (${r.source})`,
      );
    }
    if (next.rollout) this.bindChallenger(next.rollout);
  }

  private bindChallenger(rollout: Rollout): void {
    const binding = this.bindings.bind(
      { name: rollout.name, selector: { kind: 'alias', alias: rollout.challenger } },
      false,
    );
    binding.challenger = true;
    if (!binding.model && !binding.pending) {
      // A failed first load keeps the binding (challenger): polling retries it.
      void this.reloader.firstLoad(binding, 'rollout').catch(() => undefined);
    }
  }

  /** Stops serving a challenger no rollout names (unless MODELS lists it). */
  private release(rollout: Rollout): void {
    const binding = this.bindings.get(challengerKey(rollout));
    if (!binding?.challenger) return;
    binding.challenger = false;
    if (binding.pinned) return;
    this.bindings.remove(binding.key);
    if (binding.model) void this.versions.retireIfUnused(binding.model);
    this.logger.log(`${rollout.name}: @${rollout.challenger} is no challenger any more; let go`);
  }

  private isChampion(ref: ModelReference, rollout: Rollout): boolean {
    if (ref.selector.kind === 'alias') return ref.selector.alias === rollout.champion;
    if (ref.selector.kind !== 'default') return false;
    const answering = this.bindings.answering(ref);
    return (
      answering !== undefined && aliasOf(answering, this.models.defaultAlias) === rollout.champion
    );
  }

  /** The binding the champion's requests are answered by: its alias's, else a bare name meaning it. */
  private championBinding(rollout: Rollout): ModelBinding | undefined {
    return (
      this.bindings.get(`${rollout.name}@${rollout.champion}`) ??
      this.bindings
        .all()
        .find(
          (b) =>
            b.ref.name === rollout.name &&
            !b.challenger &&
            aliasOf(b, this.models.defaultAlias) === rollout.champion,
        )
    );
  }

  private get defaults() {
    return { percent: this.config.canaryPercent, defaultAlias: this.models.defaultAlias };
  }
}

function side(name: string, alias: string, binding: ModelBinding | undefined): RolloutSideView {
  return {
    alias,
    reference: binding?.key ?? `${name}@${alias}`,
    version: binding?.model?.version,
    state: binding?.state,
    error: binding?.lastError?.message,
  };
}

function challengerKey(rollout: Rollout): string {
  return `${rollout.name}@${rollout.challenger}`;
}

/** The alias a binding follows: its own, or for a bare name the one a bare name means. */
function aliasOf(binding: ModelBinding, defaultAlias: string): string | undefined {
  const { selector } = binding.ref;
  if (selector.kind === 'alias') return selector.alias;
  return selector.kind === 'default' ? defaultAlias : undefined;
}

function sameRollout(a: Rollout | undefined, b: Rollout): boolean {
  return (
    a !== undefined &&
    a.champion === b.champion &&
    a.challenger === b.challenger &&
    a.mode === b.mode &&
    a.percent === b.percent
  );
}
