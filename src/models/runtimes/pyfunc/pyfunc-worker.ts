import { Logger } from '@nestjs/common';
import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import {
  ModelInputRejectedError,
  ModelRuntimeError,
  ModelUnavailableError,
} from '../../model.errors';
import { Tensor } from '../../tensor.types';
import { RuntimeExtras } from '../model-runtime';
import { encodeFrame, Frame, FrameError, FrameReader } from './worker-frames';
import { fromWire, toWire } from './worker-tensors';

/** How MLflow's scoring server writes the result `predict` gave (an array, a data frame, a dict). */
export type MlflowForm = NonNullable<RuntimeExtras['mlflowForm']>;

export interface WorkerRequest {
  feeds: readonly Tensor[];
  params?: Readonly<Record<string, unknown>>;
}

export interface WorkerAnswer {
  form: MlflowForm;
  outputs: Tensor[];
}

/** What the pool needs of one worker; PyfuncWorker is the real one. */
export interface WorkerHandle {
  readonly pid: number;
  /** False from the moment the process is known to be dying (before its prediction fails). */
  readonly alive: boolean;
  /** Resolves when the process has exited, however it ended. */
  readonly exited: Promise<void>;
  /** One prediction at a time; past `timeoutMs` the worker is killed and the promise rejects. */
  predict(request: WorkerRequest, timeoutMs: number): Promise<WorkerAnswer>;
  /** Resident memory now, undefined once gone or where /proc cannot tell. */
  rssBytes(): Promise<number | undefined>;
  /** Closes stdin and sends SIGTERM, then SIGKILL after `graceMs`; resolves on exit. */
  stop(graceMs: number): Promise<void>;
}

export interface WorkerStartOptions {
  python: string;
  /** The worker script and its arguments (worker.py and the model directory). */
  args: string[];
  /** Names the worker in logs and errors: `iris v3`. */
  label: string;
  startTimeoutMs: number;
  env?: NodeJS.ProcessEnv;
}

/** A worker that could not start: its Python, a missing module, the model's load, a time-out. */
export class WorkerStartError extends Error {
  constructor(
    message: string,
    /** The Python module that was not found, when that is why. */
    readonly missingModule?: string,
  ) {
    super(message);
    this.name = WorkerStartError.name;
  }
}

interface Pending {
  resolve: (answer: WorkerAnswer) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * One Python worker process serving one model version (worker.py), spoken to
 * in frames over its stdin and stdout; its stderr is its log, forwarded line
 * by line. It takes one prediction at a time. When it dies, the prediction it
 * held rejects at once with ModelUnavailableError.
 */
export class PyfuncWorker implements WorkerHandle {
  readonly exited: Promise<void>;
  private readonly logger = new Logger(PyfuncWorker.name);
  private readonly reader = new FrameReader();
  private pending?: Pending;
  private nextId = 1;
  alive = true;
  private exitText = 'exited';
  private onFrame?: (frame: Frame) => void;

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly label: string,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.alive = false;
        this.exitText = signal ? `was killed by ${signal}` : `exited with code ${code}`;
        this.fail(
          new ModelUnavailableError(
            `the Python worker (pid ${this.pid}) of ${label} ${this.exitText} during the prediction; it is being restarted, try again`,
          ),
        );
        resolve();
      });
    });
    child.stdout.on('data', (chunk: Buffer) => this.read(chunk));
    createInterface({ input: child.stderr }).on('line', (line) =>
      this.logger.log(`${label} worker ${this.pid}: ${line}`),
    );
    // A worker that dies while a frame is being written must not crash the server.
    child.stdin.on('error', () => undefined);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Starts the process and resolves once it has loaded the model and said `ready`. */
  static start(options: WorkerStartOptions): Promise<PyfuncWorker> {
    const child = spawn(options.python, ['-u', ...options.args], {
      // No env: the child inherits this process's (and -u unbuffers it anyway).
      env: options.env && { PYTHONUNBUFFERED: '1', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    return new Promise<PyfuncWorker>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        done(
          new WorkerStartError(
            `the worker did not load the model within ${options.startTimeoutMs / 1000} s (PYFUNC_START_TIMEOUT)`,
          ),
        );
      }, options.startTimeoutMs);
      const done = (error?: Error) => {
        clearTimeout(timer);
        if (error) reject(error);
        else resolve(worker);
      };
      child.once('error', (error) =>
        done(new WorkerStartError(`could not run ${options.python}: ${error.message}`)),
      );
      const worker = new PyfuncWorker(child, options.label);
      void worker.exited.then(() =>
        done(new WorkerStartError(`the worker ${worker.exitText} before it had loaded the model`)),
      );
      worker.onFrame = ({ header }) => {
        worker.onFrame = undefined;
        if (header.type === 'ready') return done();
        child.kill('SIGKILL');
        const module = typeof header.module === 'string' ? header.module : undefined;
        done(
          new WorkerStartError(
            importFailure(module, options.python) ??
              `the worker could not load the model: ${String(header.message)}`,
            module,
          ),
        );
      };
    });
  }

  predict(request: WorkerRequest, timeoutMs: number): Promise<WorkerAnswer> {
    if (!this.alive) {
      return Promise.reject(
        new ModelUnavailableError(`the Python worker of ${this.label} ${this.exitText}`),
      );
    }
    if (this.pending) throw new Error('a pyfunc worker takes one prediction at a time');
    const id = this.nextId++;
    const { tensors, buffers } = toWire(request.feeds);
    return new Promise<WorkerAnswer>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          this.kill(
            new ModelUnavailableError(
              `the prediction took longer than ${timeoutMs / 1000} s (PYFUNC_PREDICT_TIMEOUT): the Python worker of ${this.label} was killed and is being restarted`,
            ),
          ),
        timeoutMs,
      );
      this.pending = { resolve, reject, timer };
      this.onFrame = (frame) => this.answer(id, frame);
      const header: Record<string, unknown> = { type: 'predict', id, inputs: tensors };
      if (request.params) header.params = request.params;
      this.child.stdin.write(encodeFrame(header, buffers));
    });
  }

  async rssBytes(): Promise<number | undefined> {
    if (!this.alive) return undefined;
    try {
      const status = await readFile(`/proc/${this.pid}/status`, 'utf8');
      const kib = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
      return kib === undefined ? undefined : Number(kib) * 1024;
    } catch {
      return undefined;
    }
  }

  async stop(graceMs: number): Promise<void> {
    if (!this.alive) return;
    this.child.stdin.end();
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  private read(chunk: Buffer): void {
    let frames: Frame[];
    try {
      frames = this.reader.push(chunk);
    } catch (error) {
      this.logger.error(
        `${this.label} worker ${this.pid}: ${(error as Error).message}; killing it`,
      );
      this.fail(new ModelUnavailableError(`the Python worker of ${this.label} broke the protocol`));
      this.child.kill('SIGKILL');
      return;
    }
    for (const frame of frames) {
      if (this.onFrame) this.onFrame(frame);
      else
        this.logger.warn(
          `${this.label} worker ${this.pid}: an unexpected ${String(frame.header.type)} frame`,
        );
    }
  }

  private answer(id: number, { header, buffers }: Frame): void {
    this.onFrame = undefined;
    if (header.id !== id) {
      this.fail(
        new ModelUnavailableError(`the Python worker of ${this.label} answered another request`),
      );
      this.child.kill('SIGKILL');
      return;
    }
    if (header.type === 'result') {
      try {
        this.settle({ form: formOf(header.form), outputs: fromWire(header.outputs, buffers) });
      } catch (error) {
        this.fail(
          new ModelRuntimeError(
            `the Python worker answered an unreadable result: ${(error as Error).message}`,
          ),
        );
      }
      return;
    }
    const message = String(header.message);
    if (header.kind === 'input')
      this.fail(new ModelInputRejectedError(message, undefined, message));
    else if (header.kind === 'output') {
      this.fail(
        new ModelRuntimeError(
          `predict's result does not fit the model's output signature: ${message}`,
          message,
        ),
      );
    } else this.fail(new ModelRuntimeError(`predict failed: ${message}`, message));
  }

  /** Fails the prediction held, then kills the process (the pool restarts it on exit). */
  private kill(error: Error): void {
    this.alive = false;
    this.fail(error);
    this.child.kill('SIGKILL');
  }

  private settle(answer: WorkerAnswer): void {
    const pending = this.take();
    pending?.resolve(answer);
  }

  private fail(error: Error): void {
    this.take()?.reject(error);
  }

  private take(): Pending | undefined {
    const pending = this.pending;
    this.pending = undefined;
    if (pending) clearTimeout(pending.timer);
    return pending;
  }
}

function formOf(value: unknown): MlflowForm {
  if (value === 'list' || value === 'records' || value === 'dict') return value;
  throw new FrameError(`an answer of unknown form ${JSON.stringify(value)}`);
}

function importFailure(module: string | undefined, python: string): string | undefined {
  if (module === undefined) return undefined;
  if (module === 'mlflow' || module.startsWith('mlflow.')) {
    return `${python} (PYFUNC_PYTHON) has no mlflow: install it there, or point PYFUNC_PYTHON at a Python that has`;
  }
  return `the model needs the Python module '${module}', which ${python} cannot import`;
}
