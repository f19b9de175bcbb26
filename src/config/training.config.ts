import { ConfigType, registerAs } from '@nestjs/config';
import { IsBoolean, IsOptional, IsString, Matches, MinLength } from 'class-validator';
import { parseEnvironment } from './env.validation';
import { ToBoolean } from './env.transforms';

export class TrainingEnvironment {
  /** The DAG `POST /v1/training/runs` triggers when the request names none. */
  @Matches(/^[\w.-]+$/, {
    message: 'TRAINING_DAG_ID must be a DAG id (letters, digits, "_", "-", ".")',
  })
  TRAINING_DAG_ID = 'modelgate_retrain';

  /** New DAGs start paused in Airflow; unpause before triggering so the run starts. */
  @ToBoolean()
  @IsBoolean()
  TRAINING_UNPAUSE_DAG = true;

  /**
   * Shared secret the Airflow DAG sends back (`Authorization: Bearer …`) on
   * `POST /v1/hooks/airflow`; separate from any client key. Unset: the hook is off.
   */
  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'API_CALLBACK_TOKEN must be at least 16 characters' })
  API_CALLBACK_TOKEN?: string;
}

export const trainingConfig = registerAs('training', () => {
  const env = parseEnvironment(TrainingEnvironment, process.env);
  return {
    defaultDagId: env.TRAINING_DAG_ID,
    unpauseDag: env.TRAINING_UNPAUSE_DAG,
    callbackToken: env.API_CALLBACK_TOKEN,
  };
});

export type TrainingConfig = ConfigType<typeof trainingConfig>;
