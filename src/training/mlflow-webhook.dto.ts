import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsObject, IsOptional, IsString } from 'class-validator';

/**
 * What MLflow posts to a registry webhook (mlflow/webhooks/delivery.py,
 * MLflow 3.3+): the event as entity and action, when it happened, and the
 * event's data, e.g. `{"name", "alias", "version"}` for an alias.
 */
export class MlflowWebhookDto {
  @ApiProperty({ example: 'model_version_alias' })
  @IsString()
  entity: string;

  @ApiProperty({ example: 'created' })
  @IsString()
  action: string;

  @ApiProperty({ example: '2026-12-02T06:00:00.000000+00:00', description: 'ISO 8601' })
  @IsString()
  timestamp: string;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: { name: 'iris-classifier', alias: 'champion', version: '3' },
  })
  @IsObject()
  data: Record<string, unknown>;

  @ApiPropertyOptional({ description: 'Sent by servers with workspaces on' })
  @IsOptional()
  @IsString()
  workspace?: string;
}
