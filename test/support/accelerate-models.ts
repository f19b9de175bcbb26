import * as path from 'node:path';
import { lastJsonLine, python } from './python';

const SCRIPT = path.join(__dirname, '../fixtures/accelerate_models.py');

export interface Registered {
  name: string;
  version: string;
}

export interface Rows {
  columns: string[];
  data: number[][];
}

export interface AccelerateModels {
  models: Record<'forest' | 'regressor' | 'xgboost' | 'lightgbm' | 'lambda' | 'switch', Registered>;
  /** The `switch` model's second version: the lambda pipeline, no alias. */
  switch2: string;
  rows: Record<'breast_cancer' | 'diabetes', Rows>;
}

/** Registers test/fixtures/accelerate_models.py's models, names prefixed, `champion` on version 1. */
export async function registerAccelerateModels(
  trackingUri: string,
  prefix: string,
): Promise<AccelerateModels> {
  return lastJsonLine(
    await python([SCRIPT, 'register', prefix], undefined, { MLFLOW_TRACKING_URI: trackingUri }),
  );
}

/** `mlflow.pyfunc.load_model(uri).predict(frame)` for each request, in one Python process. */
export async function pyfuncPredictions(
  trackingUri: string,
  requests: ({ uri: string } & Rows)[],
): Promise<unknown[][]> {
  const stdout = await python([SCRIPT, 'predict', '-'], JSON.stringify({ requests }), {
    MLFLOW_TRACKING_URI: trackingUri,
  });
  return lastJsonLine<{ predictions: unknown[][] }>(stdout).predictions;
}
