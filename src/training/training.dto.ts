import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsObject, IsOptional, IsString, Matches, MaxLength } from 'class-validator';

export class TriggerTrainingRunDto {
  @ApiPropertyOptional({
    description: 'DAG to run; TRAINING_DAG_ID when absent',
    pattern: '^[A-Za-z0-9_.-]+$',
  })
  @IsOptional()
  @Matches(/^[\w.-]+$/, { message: 'dagId must be a DAG id (letters, digits, "_", "-", ".")' })
  dagId?: string;

  @ApiPropertyOptional({ description: "The run's conf (hyper-parameters)", example: { C: 0.5 } })
  @IsOptional()
  @IsObject({ message: 'conf must be a JSON object' })
  conf?: Record<string, unknown>;

  @ApiPropertyOptional({
    description: 'Run id; made up when absent (safe to retry either way)',
    pattern: '^[A-Za-z0-9_.:+-]+$',
    maxLength: 250,
  })
  @IsOptional()
  @Matches(/^[\w.:+-]+$/, { message: 'runId may hold letters, digits and "_", ".", ":", "+", "-"' })
  @MaxLength(250)
  runId?: string;

  @ApiPropertyOptional({ description: 'A note shown on the run in Airflow', maxLength: 1000 })
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  note?: string;
}
