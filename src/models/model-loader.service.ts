import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ModelsConfig, modelsConfig } from '../config/models.config';
import { PyfuncConfig, pyfuncConfig } from '../config/pyfunc.config';
import { ModelVersion } from '../mlflow/mlflow.types';
import { ArtifactCache, CachedModelFiles } from './artifact-cache.service';
import { ModelLineage } from './model-lineage';
import { LoadedModel } from './loaded-model';
import { ModelLineageReader } from './model-lineage.service';
import { ModelInputRejectedError, ModelLoadError } from './model.errors';
import { WarmupOutcome } from './model-warmup';
import { decodeInputExample } from './mlmodel/input-example.decoder';
import {
  MlModel,
  OnnxFlavor,
  onnxFlavor,
  parseMlModel,
  readInputExample,
} from './mlmodel/mlmodel.parser';
import { ModelRuntime } from './runtimes/model-runtime';
import { Tensor } from './tensor.types';
import { OnnxRuntime, sessionOptionsOf } from './runtimes/onnx.runtime';
import { ScoringServerRuntime } from './runtimes/scoring-server.runtime';
import { OnnxAccelerator } from './runtimes/onnx-accelerator/onnx-accelerator.service';
import { PyfuncRuntime } from './runtimes/pyfunc/pyfunc.runtime';
import { PythonEnvironment } from './runtimes/pyfunc/python-environment.service';
import { WorkerStartError } from './runtimes/pyfunc/pyfunc-worker';
import { messageOf } from '../common/values';
import { inSpan } from '../common/tracing/spans';

/** The runtime that serves a version, and why that one. */
interface RuntimeChoice {
  runtime: ModelRuntime;
  reason: string;
}

/** The input example as the runtime's feeds, or why there are none. */
type WarmupFeeds = { feeds: Tensor[]; source: string } | { reason: string };

/**
 * Loads one registered model version: files from the artifact cache, the
 * MLmodel file, a runtime for its flavor, a warm-up run on the model's input
 * example (decoded here, at load). Anything that stops the model from serving
 * fails here, with the reason, never at prediction time.
 */
@Injectable()
export class ModelLoader {
  private readonly logger = new Logger(ModelLoader.name);

  constructor(
    private readonly cache: ArtifactCache,
    @Inject(modelsConfig.KEY) private readonly config: ModelsConfig,
    @Inject(pyfuncConfig.KEY) private readonly pyfunc: PyfuncConfig,
    private readonly python: PythonEnvironment,
    private readonly accelerator: OnnxAccelerator,
    // Optional for specs that build a loader by hand; Nest always injects it.
    @Optional() private readonly lineage?: ModelLineageReader,
  ) {}

  /**
   * The version's files stay held in the disk cache until `unload` (or until
   * its load fails here): fetched first, so a load under way holds them too.
   */
  async load(version: ModelVersion): Promise<LoadedModel> {
    const started = performance.now();
    // Read beside the download; it never throws (ModelLineageReader).
    const lineage = this.lineage?.of(version);
    const files = await inSpan('download', versionAttributes(version), async (span) => {
      const fetched = await this.cache.fetch(version);
      span.setAttributes({ 'modelgate.cache.hit': fetched.hit, 'modelgate.bytes': fetched.bytes });
      return fetched;
    });
    try {
      return await this.loadFiles(version, files, lineage, started);
    } catch (error) {
      await this.cache.release(version.name, version.version);
      throw error;
    }
  }

  /** Disposes a version's runtime and lets the disk cache remove its files when it needs room. */
  async unload(model: LoadedModel): Promise<void> {
    try {
      await model.runtime.dispose();
    } finally {
      await this.cache.release(model.name, model.version);
    }
  }

  private async loadFiles(
    version: ModelVersion,
    files: CachedModelFiles,
    lineage: Promise<ModelLineage> | undefined,
    started: number,
  ): Promise<LoadedModel> {
    const { name } = version;
    const { mlmodel, flavor, runtime, reason } = await inSpan(
      'load',
      versionAttributes(version),
      async (span) => {
        const mlmodel = await this.readMlModel(name, version.version, files.directory);
        const flavor =
          Object.keys(mlmodel.flavors).find((f) => f !== 'python_function') ?? 'python_function';
        const created = await this.createRuntime(
          name,
          version.version,
          mlmodel,
          files.directory,
          flavor,
        );
        span.setAttributes({
          'modelgate.flavor': flavor,
          'modelgate.runtime': created.runtime.kind,
        });
        return { mlmodel, flavor, ...created };
      },
    );
    const warmup = await inSpan('warm', versionAttributes(version), () =>
      this.warmUp(runtime, mlmodel, files.directory, version),
    );
    const model = new LoadedModel({
      name,
      version: version.version,
      runId: version.runId,
      flavor,
      runtime,
      runtimeReason: reason,
      signature: mlmodel.signature,
      warmup,
      directory: files.directory,
      sizeBytes: files.bytes,
      fromCache: files.hit,
      loadDurationMs: Math.round(performance.now() - started),
      lineage: await lineage,
    });
    this.logger.log(
      `loaded ${name} v${version.version} (${flavor}, ${runtime.kind}) in ${model.info.loadDurationMs} ms` +
        (files.hit ? ' from the local cache' : '') +
        (warmup.ran ? `, warmed up with ${warmup.source}` : ''),
    );
    return model;
  }

  /**
   * Runs the model once on its input example. A missing, malformed or refused
   * example is reported (the version loads, says why, and the log says so
   * once); a model that fails on input it accepted is broken and does not load.
   */
  private async warmUp(
    runtime: ModelRuntime,
    mlmodel: MlModel,
    directory: string,
    version: ModelVersion,
  ): Promise<WarmupOutcome> {
    const example = await this.exampleFeeds(runtime, mlmodel, directory);
    let outcome: WarmupOutcome;
    if ('reason' in example) {
      outcome = { ran: false, reason: example.reason };
    } else {
      const started = performance.now();
      try {
        await runtime.predict(example.feeds);
        outcome = {
          ran: true,
          source: example.source,
          durationMs: Math.round(performance.now() - started),
        };
      } catch (error) {
        if (!(error instanceof ModelInputRejectedError)) {
          await runtime.dispose().catch(() => undefined);
          throw new ModelLoadError(
            version.name,
            version.version,
            `warm-up with the input example failed: ${messageOf(error)}`,
          );
        }
        outcome = { ran: false, reason: `the model refused ${example.source}: ${error.detail}` };
      }
    }
    if (!outcome.ran) {
      this.logger.warn(
        `${version.name} v${version.version} loads without a warm-up run: ${outcome.reason}`,
      );
    }
    return outcome;
  }

  private async exampleFeeds(
    runtime: ModelRuntime,
    mlmodel: MlModel,
    directory: string,
  ): Promise<WarmupFeeds> {
    try {
      const example = await readInputExample(directory, mlmodel);
      if (!example) {
        const type = mlmodel.inputExample?.type;
        return {
          reason: type
            ? `its input example is a ${type}, which cannot be sent as a scoring request`
            : 'the model was logged without an input example',
        };
      }
      const feeds = decodeInputExample(example.body, runtime.inputs, mlmodel.signature);
      return { feeds, source: example.source };
    } catch (error) {
      return { reason: messageOf(error) };
    }
  }

  private async readMlModel(name: string, version: string, directory: string): Promise<MlModel> {
    try {
      return parseMlModel(await readFile(path.join(directory, 'MLmodel'), 'utf8'));
    } catch (error) {
      throw new ModelLoadError(name, version, `no readable MLmodel file: ${messageOf(error)}`);
    }
  }

  /**
   * Chooses the runtime, in this order: the ONNX flavor in process; the
   * scoring servers SCORING_SERVERS lists for the model (the operator's
   * explicit choice); its ONNX conversion (MODEL_ONNX_ACCELERATE) in process;
   * Python workers for a `python_function` flavor, told why it was not
   * converted; otherwise the version cannot be served, and the reason says why.
   */
  private async createRuntime(
    name: string,
    version: string,
    mlmodel: MlModel,
    directory: string,
    flavor: string,
  ): Promise<RuntimeChoice> {
    const onnx = onnxFlavor(mlmodel);
    if (onnx) {
      return {
        runtime: await this.loadOnnx(name, version, directory, onnx),
        reason: 'its onnx flavor, in process',
      };
    }
    if (this.config.scoringServers[name]?.length) {
      return {
        runtime: await this.delegate(name, version, mlmodel, flavor),
        reason: `SCORING_SERVERS lists ${name}`,
      };
    }
    const accelerated = await this.accelerator.accelerate({ name, version, directory }, mlmodel);
    if (accelerated?.served) return accelerated;
    if ('python_function' in mlmodel.flavors) {
      const workers = `its python_function flavor, in ${this.pyfunc.workers} Python worker process(es)`;
      return {
        runtime: await this.loadPyfunc(name, version, mlmodel, directory, flavor),
        reason: accelerated ? `${workers}; ${accelerated.reason}` : workers,
      };
    }
    const flavors = Object.keys(mlmodel.flavors).join(', ') || 'none';
    throw new ModelLoadError(
      name,
      version,
      `no runtime serves its flavors (${flavors}): ONNX models are served in process and python_function ` +
        `models by Python workers; for others run \`mlflow models serve\` and list it in SCORING_SERVERS ` +
        `(${name}=http://host:port)`,
    );
  }

  /** Any flavor with `python_function`: Python worker processes on the version's own artifacts. */
  private async loadPyfunc(
    name: string,
    version: string,
    mlmodel: MlModel,
    directory: string,
    flavor: string,
  ): Promise<ModelRuntime> {
    try {
      const python = await this.python.pythonFor({ name, version, directory });
      return await PyfuncRuntime.load(mlmodel.signature, {
        flavor,
        label: `${name} v${version}`,
        python,
        directory,
        workers: this.pyfunc.workers,
        maxRssBytes: this.pyfunc.maxRssBytes,
        predictTimeoutMs: this.pyfunc.predictTimeoutMs,
        startTimeoutMs: this.pyfunc.startTimeoutMs,
        env: this.pyfunc.workerEnv,
      });
    } catch (error) {
      if (error instanceof ModelLoadError) throw error;
      const reason = error instanceof WorkerStartError ? error.message : messageOf(error);
      throw new ModelLoadError(name, version, reason);
    }
  }

  private async loadOnnx(
    name: string,
    version: string,
    directory: string,
    onnx: OnnxFlavor,
  ): Promise<ModelRuntime> {
    try {
      return await OnnxRuntime.load(
        path.join(directory, onnx.dataFile),
        sessionOptionsOf(this.config.onnx, onnx.sessionOptions),
      );
    } catch (error) {
      throw new ModelLoadError(
        name,
        version,
        // onnxruntime names the absolute path; answers show where in the version, not the disk.
        `onnxruntime could not load ${onnx.dataFile}: ${messageOf(error).replaceAll(directory, '<version>')}`,
      );
    }
  }

  /** Delegated to the MLflow scoring servers SCORING_SERVERS lists for the model. */
  private async delegate(
    name: string,
    version: string,
    mlmodel: MlModel,
    flavor: string,
  ): Promise<ModelRuntime> {
    const urls = this.config.scoringServers[name] ?? [];
    try {
      return await ScoringServerRuntime.load(mlmodel.signature, {
        flavor,
        urls,
        timeoutMs: this.config.scoringServerTimeoutMs,
        coolDownMs: this.config.scoringServerCoolDownMs,
      });
    } catch (error) {
      throw new ModelLoadError(name, version, messageOf(error));
    }
  }
}

function versionAttributes(version: ModelVersion): Record<string, string> {
  return { 'modelgate.model.name': version.name, 'modelgate.model.version': version.version };
}
