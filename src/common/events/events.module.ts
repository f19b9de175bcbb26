import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { EventBus } from './event-bus';
import { HotListeners } from './hot-listeners';
import { HotListenersLoader } from './hot-listeners.loader';

/** The typed event bus; EventEmitterModule.forRoot() in app.module provides the emitter under it. */
@Module({
  imports: [DiscoveryModule],
  providers: [EventBus, HotListeners, HotListenersLoader],
  exports: [EventBus],
})
export class EventsModule {}
