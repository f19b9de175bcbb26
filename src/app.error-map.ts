import { ErrorDescriber } from './common/errors/error-describer';
import { INFERENCE_ERROR_MAP } from './inference/inference.error-map';
import { describeTrainingError } from './training/training.error-map';

/**
 * Every feature's error describers, for the global filter that answers the
 * `/v1/…` routes (models, training, cluster, hooks). The prediction
 * controllers hand their filters INFERENCE_ERROR_MAP themselves.
 */
export const APP_ERROR_MAP: readonly ErrorDescriber[] = [
  ...INFERENCE_ERROR_MAP,
  describeTrainingError,
];
