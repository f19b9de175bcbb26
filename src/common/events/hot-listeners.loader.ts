import { Injectable, OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper';
import { HotEventName } from './event-map';
import { HotListeners } from './hot-listeners';

const HOT_LISTENER = Symbol('modelgate:hot-listener');

/** Marks `method` as a listener of the hot event `event` (OnAppEvent does it for hot names). */
export function markHotListener(method: object, event: HotEventName): void {
  const events = hotEventsOf(method) ?? [];
  Reflect.defineMetadata(HOT_LISTENER, [...events, event], method);
}

function hotEventsOf(method: unknown): HotEventName[] | undefined {
  if (typeof method !== 'function') return undefined;
  return Reflect.getMetadata(HOT_LISTENER, method) as HotEventName[] | undefined;
}

/**
 * Subscribes every method marked by `markHotListener` to HotListeners, bound
 * to its provider's (or controller's) instance. It does so at module init,
 * which Nest runs for every module before any bootstrap hook: the listeners
 * are in before EventEmitterModule's loader subscribes the others (at
 * bootstrap) and marks the bus listening, so `EventBus.whenListening()`
 * covers them too.
 */
@Injectable()
export class HotListenersLoader implements OnModuleInit {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly listeners: HotListeners,
  ) {}

  onModuleInit(): void {
    for (const wrapper of [...this.discovery.getProviders(), ...this.discovery.getControllers()]) {
      this.subscribe(wrapper);
    }
  }

  private subscribe(wrapper: InstanceWrapper): void {
    const instance = wrapper.instance as Record<string, unknown> | undefined;
    if (!instance || wrapper.isAlias) return;
    for (const key of this.scanner.getAllMethodNames(Object.getPrototypeOf(instance) as object)) {
      const method = instance[key];
      const events = hotEventsOf(method);
      if (!events) continue;
      // A request-scoped instance would have to be resolved per event, asynchronously: what the hot path avoids.
      if (!wrapper.isDependencyTreeStatic()) {
        throw new Error(
          `${String(wrapper.name)}.${key} listens to ${events.join(', ')}, which are told synchronously, ` +
            `but ${String(wrapper.name)} is request-scoped or depends on a request-scoped provider`,
        );
      }
      const listener = (method as (payload: unknown) => void).bind(instance);
      for (const event of events) this.listeners.add(event, listener);
    }
  }
}
