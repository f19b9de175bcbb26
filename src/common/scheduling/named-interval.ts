import { SchedulerRegistry } from '@nestjs/schedule';

/**
 * Registers `tick` under `name` with @nestjs/schedule every `intervalMs`, on a
 * timer that does not keep the process alive (shutdown never waits for a job).
 */
export function startNamedInterval(
  scheduler: SchedulerRegistry,
  name: string,
  intervalMs: number,
  tick: () => void,
): void {
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  scheduler.addInterval(name, timer);
}

/** Stops the interval registered under `name`, if there is one. */
export function stopNamedInterval(scheduler: SchedulerRegistry, name: string): void {
  if (scheduler.doesExist('interval', name)) {
    scheduler.deleteInterval(name);
  }
}
