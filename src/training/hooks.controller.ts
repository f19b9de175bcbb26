import { Body, Controller, Headers, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiJsonAnswer, SECURITY } from '../common/openapi/api-errors.decorator';
import { schemaRef } from '../common/openapi/schema-ref';
import { TRAINING_SCHEMAS } from './openapi/training.schema';
import { CallbackTokenGuard } from '../auth/callback-token.guard';
import { AirflowCallbackDto } from './airflow-callback.dto';
import { CallbackHandler, CallbackOutcome } from './callback-handler.service';
import { MlflowWebhookGuard } from '../auth/mlflow-webhook.guard';
import { MLFLOW_DELIVERY_ID_HEADER, MLFLOW_TIMESTAMP_HEADER } from '../auth/mlflow-signature';
import { MlflowWebhookDto } from './mlflow-webhook.dto';
import { MlflowWebhookHandler, MlflowWebhookOutcome } from './mlflow-webhook.service';

@ApiTags('hooks')
@Controller('v1/hooks')
export class HooksController {
  constructor(
    private readonly callbacks: CallbackHandler,
    private readonly webhooks: MlflowWebhookHandler,
  ) {}

  @Post('airflow')
  @HttpCode(200)
  @UseGuards(CallbackTokenGuard)
  @ApiSecurity(SECURITY.callbackToken)
  @ApiOperation({
    summary: "The retraining DAG's callback: a new version is registered; reload (idempotent)",
  })
  @ApiJsonAnswer(200, 'Accepted', schemaRef(TRAINING_SCHEMAS, 'CallbackOutcome'))
  @ApiErrors('api', 400, 401, 403, 413, 429, 503)
  airflow(@Body() callback: AirflowCallbackDto): Promise<CallbackOutcome> {
    return this.callbacks.handle(callback);
  }

  @Post('mlflow')
  @HttpCode(200)
  @UseGuards(MlflowWebhookGuard)
  @ApiSecurity(SECURITY.mlflowSignature)
  @ApiHeader({ name: MLFLOW_TIMESTAMP_HEADER, required: true, description: 'Unix seconds' })
  @ApiHeader({
    name: MLFLOW_DELIVERY_ID_HEADER,
    required: true,
    description: 'Unique per delivery',
  })
  @ApiOperation({
    summary:
      'MLflow registry webhook (MLflow 3.3+): an alias moved or a version was created; every instance follows',
    description:
      'Signed by MLflow with MLFLOW_WEBHOOK_SECRET (X-MLflow-Signature: v1,<base64 HMAC-SHA256 of ' +
      '"{delivery id}.{timestamp}.{raw body}">). A timestamp more than MLFLOW_WEBHOOK_TOLERANCE_SECONDS ' +
      'away is refused (401); a delivery id seen before is answered 200 and not acted on again. ' +
      '503 while MLFLOW_WEBHOOK_SECRET is unset.',
  })
  @ApiJsonAnswer(200, 'Accepted', schemaRef(TRAINING_SCHEMAS, 'MlflowWebhookOutcome'))
  @ApiErrors('api', 400, 401, 413, 429, 503)
  mlflow(
    @Body() delivery: MlflowWebhookDto,
    @Headers(MLFLOW_DELIVERY_ID_HEADER) deliveryId: string,
  ): Promise<MlflowWebhookOutcome> {
    return this.webhooks.handle({ ...delivery, deliveryId });
  }
}
