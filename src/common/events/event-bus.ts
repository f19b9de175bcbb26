import { Injectable } from '@nestjs/common';
import { EventEmitter2, EventEmitterReadinessWatcher, OnEvent } from '@nestjs/event-emitter';
import { EventMap, EventName } from './event-map';

/**
 * The one way to tell other modules what happened: `emit` takes only a name
 * of the EventMap and that name's payload, so a typo or a wrong payload is a
 * compile error. Over @nestjs/event-emitter (its listeners are discovered
 * from `@OnAppEvent` methods, a listener that throws is logged, not rethrown
 * into the emitter).
 */
@Injectable()
export class EventBus {
  constructor(
    private readonly emitter: EventEmitter2,
    private readonly watcher: EventEmitterReadinessWatcher,
  ) {}

  emit<K extends EventName>(event: K, payload: EventMap[K]): void {
    this.emitter.emit(event, payload);
  }

  /**
   * Resolves once every `@OnAppEvent` listener is subscribed (at application
   * bootstrap). Work started at bootstrap waits for it, so its first events
   * are not lost to listeners not yet attached.
   */
  whenListening(): Promise<void> {
    return this.watcher.waitUntilReady();
  }
}

/**
 * Subscribes the decorated method to `event`; the method must accept that
 * event's payload, or the decorator does not type-check.
 */
export function OnAppEvent<K extends EventName>(event: K) {
  const decorator = OnEvent(event);
  return <T extends (payload: EventMap[K]) => unknown>(
    target: object,
    key: string | symbol,
    descriptor: TypedPropertyDescriptor<T>,
  ): void => {
    decorator(target, key, descriptor);
  };
}
