import { Inject, Injectable, Logger } from '@nestjs/common';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ModelsConfig, modelsConfig } from '../config/models.config';
import { ModelVersion } from '../mlflow/mlflow.types';
import { ArtifactCache, InUse } from './artifact-cache.service';
import { LoadedModel } from './loaded-model';
import { ModelLoadError } from './model.errors';
import { ModelWarmup } from './model-warmup';
import { MlModel, onnxFlavor, parseMlModel, readServingExample } from './mlmodel/mlmodel.parser';
import { ModelRuntime } from './runtimes/model-runtime';
import { OnnxRuntime } from './runtimes/onnx.runtime';
import { ScoringServerRuntime } from './runtimes/scoring-server.runtime';
import { messageOf } from '../common/values';

/**
 * Loads one registered model version: files from the artifact cache, the
 * MLmodel file, a runtime for its flavor, a warm-up run. Anything that stops
 * the model from serving fails here, with the reason, never at prediction time.
 */
@Injectable()
export class ModelLoader {
  private readonly logger = new Logger(ModelLoader.name);
  private warmup?: ModelWarmup;

  constructor(
    private readonly cache: ArtifactCache,
    @Inject(modelsConfig.KEY) private readonly config: ModelsConfig,
  ) {}

  /**
   * The inference module registers how to warm a model up (it knows the
   * protocols and input binding; this module must not depend on it).
   */
  useWarmup(warmup: ModelWarmup): void {
    this.warmup = warmup;
  }

  /** `inUse` names the versions loaded now: the disk cache keeps their files. */
  async load(version: ModelVersion, inUse?: InUse): Promise<LoadedModel> {
    const started = performance.now();
    const { name } = version;
    const files = await this.cache.fetch(version, inUse);
    const mlmodel = await this.readMlModel(name, version.version, files.directory);
    const runtime = await this.createRuntime(name, version.version, mlmodel, files.directory);
    const model = new LoadedModel({
      name,
      version: version.version,
      runId: version.runId,
      flavor:
        Object.keys(mlmodel.flavors).find((f) => f !== 'python_function') ?? 'python_function',
      runtime,
      signature: mlmodel.signature,
      servingExample: await readServingExample(files.directory, mlmodel).catch(() => undefined),
      directory: files.directory,
      sizeBytes: files.bytes,
      fromCache: files.hit,
      loadDurationMs: 0,
    });
    try {
      await this.warmup?.warmUp(model);
    } catch (error) {
      await runtime.dispose().catch(() => undefined);
      throw new ModelLoadError(
        name,
        version.version,
        `warm-up with the input example failed: ${messageOf(error)}`,
      );
    }
    model.info.loadDurationMs = Math.round(performance.now() - started);
    this.logger.log(
      `loaded ${name} v${version.version} (${model.info.flavor}, ${runtime.kind}) in ${model.info.loadDurationMs} ms` +
        (files.hit ? ' from the local cache' : ''),
    );
    return model;
  }

  private async readMlModel(name: string, version: string, directory: string): Promise<MlModel> {
    try {
      return parseMlModel(await readFile(path.join(directory, 'MLmodel'), 'utf8'));
    } catch (error) {
      throw new ModelLoadError(name, version, `no readable MLmodel file: ${messageOf(error)}`);
    }
  }

  private async createRuntime(
    name: string,
    version: string,
    mlmodel: MlModel,
    directory: string,
  ): Promise<ModelRuntime> {
    const onnx = onnxFlavor(mlmodel);
    if (!onnx) {
      return this.delegate(name, version, mlmodel);
    }
    const threads = this.config.onnxIntraOpThreads;
    try {
      return await OnnxRuntime.load(path.join(directory, onnx.dataFile), {
        ...onnx.sessionOptions,
        ...(threads > 0 ? { intraOpNumThreads: threads } : {}),
      });
    } catch (error) {
      throw new ModelLoadError(
        name,
        version,
        `onnxruntime could not load ${onnx.dataFile}: ${messageOf(error)}`,
      );
    }
  }

  /** Any other flavor: delegated to the MLflow scoring servers configured for the model. */
  private async delegate(name: string, version: string, mlmodel: MlModel): Promise<ModelRuntime> {
    const urls = this.config.scoringServers[name];
    if (!urls?.length) {
      const flavors = Object.keys(mlmodel.flavors).join(', ') || 'none';
      throw new ModelLoadError(
        name,
        version,
        `no runtime serves its flavors (${flavors}): ONNX models are served in process; for others run ` +
          `\`mlflow models serve\` and list it in SCORING_SERVERS (${name}=http://host:port)`,
      );
    }
    try {
      return await ScoringServerRuntime.load(mlmodel.signature, {
        urls,
        timeoutMs: this.config.scoringServerTimeoutMs,
        coolDownMs: this.config.scoringServerCoolDownMs,
      });
    } catch (error) {
      throw new ModelLoadError(name, version, messageOf(error));
    }
  }
}
