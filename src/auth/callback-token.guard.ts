import {
  CanActivate,
  ExecutionContext,
  Inject,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { FeatureDisabledError } from '../common/errors/feature-disabled.error';
import { createHash, timingSafeEqual } from 'node:crypto';
import { TrainingConfig, trainingConfig } from '../config/training.config';

/**
 * Admits the Airflow DAG's callback: `Authorization: Bearer <API_CALLBACK_TOKEN>`.
 * Compared in constant time (on digests, so lengths do not leak either).
 */
@Injectable()
export class CallbackTokenGuard implements CanActivate {
  constructor(@Inject(trainingConfig.KEY) private readonly config: TrainingConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const expected = this.config.callbackToken;
    if (!expected) {
      throw new FeatureDisabledError(
        'callbacks are off: set API_CALLBACK_TOKEN on the API and in Airflow',
      );
    }
    const header = context.switchToHttp().getRequest<FastifyRequest>().headers.authorization ?? '';
    const given = /^Bearer\s+(.+)$/i.exec(header)?.[1] ?? '';
    if (!timingSafeEqual(digest(given), digest(expected))) {
      throw new UnauthorizedException(
        'missing or wrong callback token (Authorization: Bearer <API_CALLBACK_TOKEN>)',
      );
    }
    return true;
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
