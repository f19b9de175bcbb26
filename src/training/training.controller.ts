import { Body, Controller, Get, Param, Post, Req, UseInterceptors } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { Principal, principalOf } from '../auth/principal';
import { ApiCredentials, ApiErrors, ApiJsonAnswer } from '../common/openapi/api-errors.decorator';
import { schemaRef } from '../common/openapi/schema-ref';
import { JsonObjectBody } from './json-object-body.interceptor';
import { DAG_ID_PATTERN, RUN_ID_PATTERN, TRAINING_SCHEMAS } from './openapi/training.schema';
import { TriggerTrainingRunDto } from './training.dto';
import { TrainingRunView, TrainingService } from './training.service';

/**
 * Who calls when the authentication hook identified no one (it did not run):
 * no scopes, so nothing a scope guards is allowed. With API_AUTH=off the hook
 * attaches ANONYMOUS, which holds every scope.
 */
const UNIDENTIFIED: Principal = { name: 'unidentified', kind: 'anonymous', scopes: new Set() };

@ApiTags('training')
@Controller('v1/training/runs')
export class TrainingController {
  constructor(private readonly training: TrainingService) {}

  @Post()
  @ApiOperation({
    summary:
      'Trigger a run of a DAG listed in TRAINING_DAGS (unpausing it when configured); ' +
      'conf keys are allow-listed per DAG, and force/model_name/alias need the promote scope',
  })
  @ApiJsonAnswer(201, 'The run, as Airflow queued it', schemaRef(TRAINING_SCHEMAS, 'TrainingRun'))
  @ApiErrors('api', 400, 403, 404, 409, 413, 502, 503)
  @ApiCredentials('api')
  @UseInterceptors(JsonObjectBody)
  trigger(
    @Body() request: TriggerTrainingRunDto,
    @Req() http: FastifyRequest,
  ): Promise<TrainingRunView> {
    return this.training.trigger(request, principalOf(http) ?? UNIDENTIFIED);
  }

  @Get(':dagId/:runId')
  @ApiOperation({ summary: "A training run's state and its tasks' states (listed DAGs only)" })
  @ApiParam({ name: 'dagId', schema: { type: 'string', pattern: DAG_ID_PATTERN } })
  @ApiParam({ name: 'runId', schema: { type: 'string', pattern: RUN_ID_PATTERN } })
  @ApiJsonAnswer(200, 'The run and its tasks', schemaRef(TRAINING_SCHEMAS, 'TrainingRun'))
  @ApiErrors('api', 400, 404, 502, 503)
  @ApiCredentials('api')
  get(@Param('dagId') dagId: string, @Param('runId') runId: string): Promise<TrainingRunView> {
    return this.training.get(dagId, runId);
  }
}
