import {
  BadRequestException,
  CanActivate,
  ExecutionContext,
  Inject,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { FeatureDisabledError } from '../common/errors/feature-disabled.error';
import { rawBodyOf } from '../common/http/raw-body';
import { TrainingConfig, trainingConfig } from '../config/training.config';
import {
  MLFLOW_DELIVERY_ID_HEADER,
  MLFLOW_SIGNATURE_HEADER,
  MLFLOW_TIMESTAMP_HEADER,
  MlflowSignatureError,
  verifyMlflowDelivery,
} from './mlflow-signature';

/**
 * Admits MLflow registry webhook deliveries signed with MLFLOW_WEBHOOK_SECRET
 * (mlflow-signature.ts), over the body as it arrived. Without the secret
 * the hook is off and answers 503, as the Airflow callback does without its
 * token: the route exists (it is in the OpenAPI document), it is just not
 * configured, and 503 says so to an operator testing the webhook from
 * MLflow, where 404 would read as a wrong URL. It never accepts unsigned.
 * A bad format is 400; missing, stale or wrong signatures are 401.
 */
@Injectable()
export class MlflowWebhookGuard implements CanActivate {
  constructor(
    @Inject(trainingConfig.KEY) private readonly config: Pick<TrainingConfig, 'mlflowWebhook'>,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const { secret, toleranceSeconds } = this.config.mlflowWebhook;
    if (!secret) {
      throw new FeatureDisabledError(
        'MLflow webhooks are off: set MLFLOW_WEBHOOK_SECRET here and create the webhook with the same secret',
      );
    }
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    try {
      verifyMlflowDelivery(
        {
          signature: header(request, MLFLOW_SIGNATURE_HEADER),
          timestamp: header(request, MLFLOW_TIMESTAMP_HEADER),
          deliveryId: header(request, MLFLOW_DELIVERY_ID_HEADER),
          body: rawBodyOf(request),
        },
        { secret, toleranceSeconds },
      );
    } catch (error) {
      if (!(error instanceof MlflowSignatureError)) throw error;
      if (error.failure === 'malformed') throw new BadRequestException(error.message);
      throw new UnauthorizedException(error.message);
    }
    return true;
  }
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(' ') : value;
}
