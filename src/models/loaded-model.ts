import { TensorSpec } from './tensor.types';
import { ModelSignature } from './model-signature.types';
import { ModelRuntime } from './runtimes/model-runtime';
import { WarmupOutcome } from './model-warmup';
import { ModelLineage } from './model-lineage';

export interface LoadedModelInit {
  name: string;
  version: string;
  runId?: string;
  flavor: string;
  runtime: ModelRuntime;
  /** Why this runtime serves the version (its ONNX flavor, SCORING_SERVERS, …). */
  runtimeReason?: string;
  signature?: ModelSignature;
  /** Set by the loader; absent for versions built by hand (specs). */
  warmup?: WarmupOutcome;
  directory: string;
  sizeBytes: number;
  /** The files were on local disk already (no download). */
  fromCache: boolean;
  loadDurationMs: number;
  /** The training run and DAG run behind it, read at load; absent for versions built by hand (specs). */
  lineage?: ModelLineage;
}

/**
 * One model version in memory, ready to predict. Counts the requests using it
 * so a replaced version is unloaded only once they have finished.
 */
export class LoadedModel {
  readonly loadedAt = new Date();
  lastUsedAt = Date.now();
  requests = 0;
  failures = 0;
  private inFlight = 0;
  private drained: (() => void)[] = [];

  constructor(readonly info: LoadedModelInit) {}

  get name(): string {
    return this.info.name;
  }

  get version(): string {
    return this.info.version;
  }

  get key(): string {
    return `${this.info.name}/${this.info.version}`;
  }

  get runtime(): ModelRuntime {
    return this.info.runtime;
  }

  get inputs(): readonly TensorSpec[] {
    return this.info.runtime.inputs;
  }

  get outputs(): readonly TensorSpec[] {
    return this.info.runtime.outputs;
  }

  get warmup(): WarmupOutcome {
    return this.info.warmup ?? { ran: false, reason: 'not loaded by the model loader' };
  }

  get busy(): boolean {
    return this.inFlight > 0;
  }

  /** Marks a request as using this model; call the returned function when done. */
  acquire(): () => void {
    this.inFlight++;
    this.requests++;
    this.lastUsedAt = Date.now();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.inFlight === 0) {
        this.drained.splice(0).forEach((resolve) => resolve());
      }
    };
  }

  /** Resolves once no request uses the model, or after `timeoutMs`. */
  drain(timeoutMs: number): Promise<boolean> {
    if (this.inFlight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.drained.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}
