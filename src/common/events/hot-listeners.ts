import { Injectable, Logger } from '@nestjs/common';
import { EventMap, HotEventName } from './event-map';

export type HotListener<K extends HotEventName> = (payload: EventMap[K]) => void;

/**
 * The listeners of the hot events (event-map.ts), called in a plain loop
 * when one is told, with no promise per listener.
 * A listener that throws is logged as @nestjs/event-emitter logs it
 * (message and stack) and the others still run; the emitter never sees it.
 */
@Injectable()
export class HotListeners {
  private readonly logger = new Logger(HotListeners.name);
  private readonly byEvent = new Map<HotEventName, HotListener<HotEventName>[]>();

  /** For HotListenersLoader, and for specs that build the bus by hand. */
  add<K extends HotEventName>(event: K, listener: HotListener<K>): void {
    const listeners = this.byEvent.get(event);
    // The map holds listeners of every hot event; each is only ever called with its own event's payload.
    const stored = listener as HotListener<HotEventName>;
    if (listeners) listeners.push(stored);
    else this.byEvent.set(event, [stored]);
  }

  /** For EventBus, which has checked that `payload` is `event`'s. */
  dispatch(event: HotEventName, payload: EventMap[HotEventName]): void {
    const listeners = this.byEvent.get(event);
    if (!listeners) return;
    for (const listener of listeners) {
      try {
        listener(payload);
      } catch (e) {
        if (e instanceof Error) this.logger.error(e.message, e.stack);
        else this.logger.error(String(e));
      }
    }
  }
}
