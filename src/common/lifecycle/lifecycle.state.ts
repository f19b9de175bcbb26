import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';

/**
 * Whether this instance is draining (SIGTERM received: readiness answers 503
 * while requests already accepted finish) and how many requests are in flight.
 */
@Injectable()
export class LifecycleState implements OnApplicationShutdown {
  private readonly logger = new Logger(LifecycleState.name);
  private drainingSince?: Date;
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  private closeCallbacks: (() => void)[] = [];

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  get drainingSinceAt(): Date | undefined {
    return this.drainingSince;
  }

  get inFlightRequests(): number {
    return this.inFlight;
  }

  /** Readiness turns 503 from now on. */
  startDraining(reason: string): void {
    if (this.drainingSince) return;
    this.drainingSince = new Date();
    this.logger.log({ msg: `draining: ${reason}`, inFlight: this.inFlight });
  }

  requestStarted(): void {
    this.inFlight++;
  }

  requestFinished(): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    if (this.inFlight === 0) this.idleWaiters.splice(0).forEach((resolve) => resolve());
  }

  /** Resolves when no request is in flight. */
  whenIdle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Runs `callback` when the app closes, whatever closes it. */
  onClose(callback: () => void): void {
    this.closeCallbacks.push(callback);
  }

  onApplicationShutdown(): void {
    this.closeCallbacks.splice(0).forEach((callback) => callback());
  }
}
