import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
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
  @ApiBearerAuth()
  @ApiOperation({
    summary: "The retraining DAG's callback: a new version is registered; reload (idempotent)",
  })
  airflow(@Body() callback: AirflowCallbackDto): Promise<CallbackOutcome> {
    return this.callbacks.handle(callback);
  }
}
