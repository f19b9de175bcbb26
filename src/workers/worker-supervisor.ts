import { Logger } from '@nestjs/common';
import type { Worker } from 'node:cluster';
import { IpcEndpoint, channelToWorker } from '../cluster/ipc/ipc-endpoint';
import { WorkerView } from '../cluster/worker-view';
import { DEFAULT_RESTART_POLICY, RestartPolicyOptions, decideRestart } from './restart-policy';

/** One slot of the group: the worker in it now, and what happened to its predecessors. */
interface Slot {
  number: number;
  worker?: Worker;
  endpoint?: IpcEndpoint;
  detach?: () => unknown;
  state: WorkerView['state'];
  startedAt?: Date;
  restarts: number;
  crashesInARow: number;
  restartTimer?: NodeJS.Timeout;
  lastExit?: { code: number | null; signal: string | null; at: Date };
}

export interface SupervisorOptions {
  count: number;
  /** Starts a worker for slot `number` (cluster.fork with its environment). */
  fork(number: number): Worker;
  /** Wires a new worker's endpoint (store, metrics); returns what undoes it when the worker exits. */
  attach(endpoint: IpcEndpoint, number: number): () => unknown;
  /** The instance id of the worker in slot `number`. */
  idOf(number: number): string;
  /** IPC request timeout. */
  timeoutMs: number;
  policy?: RestartPolicyOptions;
  /** Called once every slot has been given up: nothing is left to serve. */
  onAllGivenUp(): void;
}

/**
 * The primary's workers: forks one per slot, restarts one that dies (capped
 * exponential backoff, decideRestart), gives a crash-looping slot up loudly,
 * and at shutdown asks every worker to drain and waits for them all.
 */
export class WorkerSupervisor {
  private readonly logger = new Logger(WorkerSupervisor.name);
  private readonly slots: Slot[];
  private stopping = false;
  private allExited?: () => void;

  constructor(private readonly options: SupervisorOptions) {
    this.slots = Array.from({ length: options.count }, (_, n) => ({
      number: n + 1,
      state: 'starting',
      restarts: 0,
      crashesInARow: 0,
    }));
  }

  start(): void {
    for (const slot of this.slots) this.spawn(slot);
  }

  /** The endpoints of the workers running now. */
  endpoints(): IpcEndpoint[] {
    return this.slots
      .filter((slot) => slot.endpoint?.open && slot.state !== 'exited')
      .map((slot) => slot.endpoint!);
  }

  /** What /v1/cluster shows of the workers. */
  view(): WorkerView[] {
    return this.slots.map((slot) => ({
      number: slot.number,
      id: this.options.idOf(slot.number),
      pid: slot.worker?.process.pid,
      startedAt: slot.startedAt?.toISOString(),
      restarts: slot.restarts,
      state: slot.state,
      lastExit: slot.lastExit && {
        code: slot.lastExit.code,
        signal: slot.lastExit.signal,
        at: slot.lastExit.at.toISOString(),
      },
    }));
  }

  /**
   * Tells every worker to drain (its own graceful shutdown) and resolves once
   * all have exited: true when every one exited with code 0. Workers still
   * running after `timeoutMs` are killed (false).
   */
  async shutdown(signal: NodeJS.Signals, timeoutMs: number): Promise<boolean> {
    this.stopping = true;
    for (const slot of this.slots) {
      clearTimeout(slot.restartTimer);
      if (slot.state === 'restarting') slot.state = 'exited';
    }
    const running = this.slots.filter((slot) => slot.worker && slot.state !== 'exited');
    const exited = new Promise<void>((resolve) => (this.allExited = resolve));
    for (const slot of running) {
      slot.state = 'draining';
      // A worker whose channel is gone gets the signal itself.
      if (!slot.endpoint?.notify('shutdown', { signal })) slot.worker?.process.kill(signal);
    }
    this.checkAllExited();
    const inTime = await Promise.race([
      exited.then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref()),
    ]);
    if (!inTime) {
      for (const slot of this.slots.filter((s) => s.state !== 'exited')) {
        this.logger.error(`worker ${slot.number} did not exit in ${timeoutMs} ms: killing it`);
        slot.worker?.process.kill('SIGKILL');
      }
      return false;
    }
    return this.slots.every((slot) => slot.lastExit === undefined || slot.lastExit.code === 0);
  }

  private spawn(slot: Slot): void {
    const worker = this.options.fork(slot.number);
    const endpoint = new IpcEndpoint(channelToWorker(worker), this.options.timeoutMs);
    slot.worker = worker;
    slot.endpoint = endpoint;
    slot.state = 'starting';
    slot.startedAt = new Date();
    slot.detach = this.options.attach(endpoint, slot.number);
    worker.once('listening', () => {
      if (slot.worker === worker && slot.state === 'starting') slot.state = 'listening';
    });
    worker.once('exit', (code, signal) => this.exited(slot, worker, code, signal));
    this.logger.log({
      msg: `worker ${slot.number} started`,
      worker: slot.number,
      pid: worker.process.pid,
    });
  }

  private exited(slot: Slot, worker: Worker, code: number | null, signal: string | null): void {
    if (slot.worker !== worker) return;
    const livedMs = Date.now() - (slot.startedAt?.getTime() ?? Date.now());
    slot.lastExit = { code, signal, at: new Date() };
    slot.endpoint?.close('the worker exited');
    void Promise.resolve(slot.detach?.()).catch(() => undefined);
    const fields = { slot: slot.number, pid: worker.process.pid, code, signal, livedMs };
    if (this.stopping) {
      slot.state = 'exited';
      this.logger.log({ msg: `worker ${slot.number} exited`, ...fields });
      this.checkAllExited();
      return;
    }
    const decision = decideRestart(
      slot.crashesInARow,
      livedMs,
      this.options.policy ?? DEFAULT_RESTART_POLICY,
    );
    slot.crashesInARow = decision.crashesInARow;
    if (decision.action === 'give-up') {
      slot.state = 'given-up';
      this.logger.error({
        msg: `worker ${slot.number} died ${decision.crashesInARow} times in a row, each soon after its start: not restarting it again (see its last lines above)`,
        ...fields,
      });
      if (this.slots.every((s) => s.state === 'given-up')) this.options.onAllGivenUp();
      return;
    }
    slot.state = 'restarting';
    this.logger.warn({
      msg: `worker ${slot.number} exited (${signal ?? `code ${code}`}); restarting it in ${decision.delayMs} ms`,
      ...fields,
    });
    slot.restartTimer = setTimeout(() => {
      if (this.stopping) return;
      slot.restarts++;
      this.spawn(slot);
    }, decision.delayMs);
  }

  private checkAllExited(): void {
    if (this.slots.every((slot) => slot.state === 'exited' || slot.state === 'given-up')) {
      this.allExited?.();
    }
  }
}
