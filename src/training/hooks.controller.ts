import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiJsonAnswer, SECURITY } from '../common/openapi/api-errors.decorator';
import { schemaRef } from '../common/openapi/schema-ref';
import { TRAINING_SCHEMAS } from './openapi/training.schema';
import { CallbackTokenGuard } from '../auth/callback-token.guard';
import { AirflowCallbackDto } from './airflow-callback.dto';
import { CallbackHandler, CallbackOutcome } from './callback-handler.service';

@ApiTags('hooks')
@Controller('v1/hooks')
export class HooksController {
  constructor(private readonly callbacks: CallbackHandler) {}

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
}
