import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { MODEL_NAME_SOURCE } from '../common/model-reference';
import {
  IsBoolean,
  IsIn,
  IsNumber,
  IsOptional,
  IsString,
  Matches,
  ValidateNested,
} from 'class-validator';

export class CallbackMetricDto {
  @ApiProperty({ example: 'accuracy' })
  @IsString()
  name: string;

  @ApiProperty({ example: 0.97 })
  @IsNumber()
  value: number;

  @ApiPropertyOptional({ type: Number, nullable: true, example: 0.95 })
  @IsOptional()
  @IsNumber()
  previous?: number | null;
}

/** What the retraining DAG's last task posts when a new version is registered. */
export class AirflowCallbackDto {
  @ApiProperty({ enum: ['model_version_ready'] })
  @IsIn(['model_version_ready'])
  event: 'model_version_ready';

  @ApiProperty({ example: 'my_retraining_dag' })
  @IsString()
  dag_id: string;

  @ApiProperty({ example: 'manual__2026-11-22T03:00:00+00:00' })
  @IsString()
  dag_run_id: string;

  @ApiProperty({ example: 'iris-classifier', pattern: MODEL_NAME_SOURCE })
  @Matches(new RegExp(MODEL_NAME_SOURCE), { message: 'model_name must be a registered model name' })
  model_name: string;

  @ApiProperty({ example: '3', pattern: '^[0-9]+$' })
  @Matches(/^\d+$/, { message: 'version must be a version number' })
  version: string;

  @ApiProperty({ example: 'champion' })
  @IsString()
  alias: string;

  @ApiProperty({ description: 'Whether the DAG moved the alias to this version' })
  @IsBoolean()
  promoted: boolean;

  @ApiPropertyOptional({ type: CallbackMetricDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => CallbackMetricDto)
  metric?: CallbackMetricDto;
}
