import { Body, Controller, Get, Param, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
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
  trigger(@Body() request: TriggerTrainingRunDto): Promise<TrainingRunView> {
    return this.training.trigger(request);
  }

  @Get(':dagId/:runId')
  @ApiOperation({ summary: "A training run's state and its tasks' states" })
  get(@Param('dagId') dagId: string, @Param('runId') runId: string): Promise<TrainingRunView> {
    return this.training.get(dagId, runId);
  }
}
