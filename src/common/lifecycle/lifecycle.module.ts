import { Module } from '@nestjs/common';
import { LifecycleState } from './lifecycle.state';

/** This process's lifecycle (draining, requests in flight), one instance for every module that imports it. */
@Module({ providers: [LifecycleState], exports: [LifecycleState] })
export class LifecycleModule {}
