import { Inject, Injectable } from '@nestjs/common';
import { LifecycleState } from '../common/lifecycle/lifecycle.state';
import { ModelReference } from '../common/model-reference';
import { ModelRegistry } from './model-registry.service';
import { ModelView } from './model-view';

/** Why this instance is, or is not, ready to serve. */
export interface ServingReadiness {
  ready: boolean;
  /** SIGTERM received: requests accepted finish, no new ones should come. */
  draining?: { since: Date };
  /** Models of MODELS with no version serving yet, still loading. */
  loading: readonly ModelView[];
  /** Models of MODELS whose load failed, with nothing to fall back on. */
  failed: readonly ModelView[];
}

/**
 * The one answer to "can this instance serve?" (MLServer's DataPlane.ready()
 * and model_ready()). Every probe asks it: `/ping`, `/v2/health/ready`,
 * `/v2/models/{name}/ready`, and health's api indicator, which `/health/ready`
 * and `GET /` compose with READINESS_REQUIRES_* (an operator's gate on MLflow
 * or Airflow, which serving itself never calls).
 */
@Injectable()
export class ModelReadiness {
  constructor(
    @Inject(ModelRegistry)
    private readonly registry: Pick<
      ModelRegistry,
      'list' | 'pinnedReady' | 'answering' | 'assertServable'
    >,
    @Inject(LifecycleState)
    private readonly lifecycle: Pick<LifecycleState, 'draining' | 'drainingSinceAt'>,
  ) {}

  /** Every model of MODELS has a version serving, and the instance is not draining. */
  ready(): boolean {
    return !this.lifecycle.draining && this.registry.pinnedReady;
  }

  /**
   * A version answers `ref` now, found as a prediction would find it (a bare
   * name: any served binding of that model). A name MODEL_ALLOW refuses, or
   * unknown with loading on demand off, throws ModelNotFoundError.
   */
  modelReady(ref: ModelReference): boolean {
    const view = this.registry.answering(ref);
    if (!view) this.registry.assertServable(ref.name);
    return view?.version !== undefined;
  }

  report(): ServingReadiness {
    const waiting = this.registry.list().filter((m) => m.pinned && m.version === undefined);
    const since = this.lifecycle.drainingSinceAt;
    return {
      ready: this.ready(),
      draining: since && { since },
      loading: waiting.filter((m) => m.state !== 'failed'),
      failed: waiting.filter((m) => m.state === 'failed'),
    };
  }
}
