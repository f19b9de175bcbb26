import { Inject, Injectable } from '@nestjs/common';
import { UpstreamNotFoundError } from '../common/upstream/upstream.error';
import { ModelsConfig, modelsConfig } from '../config/models.config';
import { MlflowClient } from '../mlflow/mlflow.client';
import { ModelVersion } from '../mlflow/mlflow.types';
import { ModelNotFoundError } from './model.errors';
import { ModelReference, formatModelReference } from '../common/model-reference';

/** Turns a model reference into the registry's current version for it. */
@Injectable()
export class ModelResolver {
  constructor(
    @Inject(MlflowClient)
    private readonly mlflow: Pick<
      MlflowClient,
      'getModelVersionByAlias' | 'getModelVersion' | 'getLatestVersion' | 'allModelVersions'
    >,
    @Inject(modelsConfig.KEY) private readonly config: Pick<ModelsConfig, 'defaultAlias'>,
  ) {}

  async resolve(ref: ModelReference): Promise<ModelVersion> {
    try {
      return await this.lookUp(ref);
    } catch (error) {
      if (error instanceof UpstreamNotFoundError) {
        throw new ModelNotFoundError(formatModelReference(ref), error.description);
      }
      throw error;
    }
  }

  private async lookUp(ref: ModelReference): Promise<ModelVersion> {
    const { name, selector } = ref;
    switch (selector.kind) {
      case 'alias':
        return this.mlflow.getModelVersionByAlias(name, selector.alias);
      case 'version':
        return this.mlflow.getModelVersion(name, selector.version);
      case 'stage':
        return this.mlflow.getLatestVersion(name, selector.stage);
      case 'latest':
        return this.latest(name);
      case 'default':
        try {
          return await this.mlflow.getModelVersionByAlias(name, this.config.defaultAlias);
        } catch (error) {
          if (error instanceof UpstreamNotFoundError) return this.latest(name);
          throw error;
        }
    }
  }

  /** The highest-numbered version that finished registering. */
  private async latest(name: string): Promise<ModelVersion> {
    let best: ModelVersion | undefined;
    for await (const version of this.mlflow.allModelVersions(name)) {
      if (version.status === 'READY' && (!best || Number(version.version) > Number(best.version))) {
        best = version;
      }
    }
    if (!best) {
      throw new UpstreamNotFoundError(
        'mlflow',
        'not_found',
        `registered model ${name} has no ready version`,
      );
    }
    return best;
  }
}
