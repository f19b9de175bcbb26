import { Module } from '@nestjs/common';
import { EventBus } from './event-bus';

/** The typed event bus; EventEmitterModule.forRoot() in app.module provides the emitter under it. */
@Module({ providers: [EventBus], exports: [EventBus] })
export class EventsModule {}
