import { Body, Controller, Get, Param, Post } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiCredentials, ApiErrors, ApiJsonAnswer } from '../common/openapi/api-errors.decorator';
import { schemaRef } from '../common/openapi/schema-ref';
import { DAG_ID_PATTERN, RUN_ID_PATTERN, TRAINING_SCHEMAS } from './openapi/training.schema';
import { TriggerTrainingRunDto } from './training.dto';
import { TrainingRunView, TrainingService } from './training.service';

@ApiTags('training')
@Controller('v1/training/runs')
export class TrainingController {
  constructor(private readonly training: TrainingService) {}

  @Post()
  @ApiOperation({
    summary: 'Trigger a training DAG run in Airflow (unpausing the DAG when configured)',
  })
  @ApiJsonAnswer(201, 'The run, as Airflow queued it', schemaRef(TRAINING_SCHEMAS, 'TrainingRun'))
  @ApiErrors('api', 400, 404, 409, 413, 502, 503)
  @ApiCredentials('api')
  trigger(@Body() request: TriggerTrainingRunDto): Promise<TrainingRunView> {
    return this.training.trigger(request);
  }

  @Get(':dagId/:runId')
  @ApiOperation({ summary: "A training run's state and its tasks' states" })
  @ApiParam({ name: 'dagId', schema: { type: 'string', pattern: DAG_ID_PATTERN } })
  @ApiParam({ name: 'runId', schema: { type: 'string', pattern: RUN_ID_PATTERN } })
  @ApiJsonAnswer(200, 'The run and its tasks', schemaRef(TRAINING_SCHEMAS, 'TrainingRun'))
  @ApiErrors('api', 400, 404, 502, 503)
  @ApiCredentials('api')
  get(@Param('dagId') dagId: string, @Param('runId') runId: string): Promise<TrainingRunView> {
    return this.training.get(dagId, runId);
  }
}
