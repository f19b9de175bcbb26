import {
  Body,
  Controller,
  Get,
  HttpException,
  HttpStatus,
  Param,
  Post,
  Req,
  UseInterceptors,
} from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { Principal, principalOf } from '../auth/principal';
import { JsonObjectBody } from './json-object-body.interceptor';
import { TriggerTrainingRunDto } from './training.dto';
import { TrainingErrorCode, TrainingRequestError } from './training.errors';
import { TrainingRunView, TrainingService } from './training.service';

/**
 * Who calls when the authentication hook identified no one (it did not run):
 * no scopes, so nothing a scope guards is allowed. With API_AUTH=off the hook
 * attaches ANONYMOUS, which holds every scope.
 */
const UNIDENTIFIED: Principal = { name: 'unidentified', kind: 'anonymous', scopes: new Set() };

const STATUS: Record<TrainingErrorCode, HttpStatus> = {
  unknown_dag: HttpStatus.NOT_FOUND,
  invalid_request: HttpStatus.BAD_REQUEST,
  missing_scope: HttpStatus.FORBIDDEN,
};

/** Training errors' codes become HTTP statuses here, at the edge. */
function forHttp(error: unknown): never {
  if (error instanceof TrainingRequestError) {
    throw new HttpException(error.message, STATUS[error.code], { cause: error });
  }
  throw error;
}

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
  @UseInterceptors(JsonObjectBody)
  trigger(
    @Body() request: TriggerTrainingRunDto,
    @Req() http: FastifyRequest,
  ): Promise<TrainingRunView> {
    return this.training.trigger(request, principalOf(http) ?? UNIDENTIFIED).catch(forHttp);
  }

  @Get(':dagId/:runId')
  @ApiOperation({ summary: "A training run's state and its tasks' states (listed DAGs only)" })
  get(@Param('dagId') dagId: string, @Param('runId') runId: string): Promise<TrainingRunView> {
    return this.training.get(dagId, runId).catch(forHttp);
  }
}
