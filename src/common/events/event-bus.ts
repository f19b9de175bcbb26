import { Injectable } from '@nestjs/common';
import { EventEmitter2, EventEmitterReadinessWatcher, OnEvent } from '@nestjs/event-emitter';
import { EventMap, EventName, HotEventName, isHotEvent } from './event-map';
import { HotListeners } from './hot-listeners';
import { markHotListener } from './hot-listeners.loader';

/**
 * The one way to tell other modules what happened: `emit` takes only a name
 * of the EventMap and that name's payload, so a typo or a wrong payload is a
 * compile error. Listeners are `@OnAppEvent` methods; a listener that throws
 * is logged, not rethrown into the emitter. The hot events (event-map.ts)
 * are dispatched synchronously by HotListeners; the others go through
 * @nestjs/event-emitter.
 */
@Injectable()
export class EventBus {
  constructor(
    private readonly emitter: EventEmitter2,
    private readonly watcher: EventEmitterReadinessWatcher,
    private readonly hot: HotListeners,
  ) {}

  emit<K extends EventName>(event: K, payload: EventMap[K]): void {
    if (isHotEvent(event)) this.hot.dispatch(event, payload as EventMap[HotEventName]);
    else this.emitter.emit(event, payload);
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

/** What a listener of `K` may be: one of a hot event is called synchronously, so it may not return a promise. */
type Listener<K extends EventName, T> = K extends HotEventName
  ? T extends (payload: EventMap[K]) => PromiseLike<unknown>
    ? never
    : T
  : T;

/**
 * Subscribes the decorated method to `event`; the method must accept that
 * event's payload, or the decorator does not type-check.
 */
export function OnAppEvent<K extends EventName>(event: K) {
  return <T extends (payload: EventMap[K]) => unknown>(
    target: object,
    key: string | symbol,
    descriptor: TypedPropertyDescriptor<Listener<K, T>>,
  ): void => {
    if (isHotEvent(event)) markHotListener(descriptor.value as object, event);
    else OnEvent(event)(target, key, descriptor);
  };
}
