import { Span } from '@opentelemetry/api';
import { ModelReference, formatModelReference } from '../common/model-reference';
import { inSpan, isRecording } from '../common/tracing/spans';
import { InferenceResult } from './inference.types';

/** The protocols a prediction arrives by, as its span names them. */
export type PredictionProtocol = 'mlflow-scoring' | 'open-inference-rest' | 'open-inference-grpc';

/**
 * A prediction's span, the parent of its decode, queue, run and encode spans,
 * whatever protocol it came by: `answered` names the version that answered
 * (the reference may be an alias that moves).
 */
export function tracePrediction<T>(
  protocol: PredictionProtocol,
  ref: ModelReference,
  work: (answered: (result: InferenceResult) => void) => Promise<T>,
): Promise<T> {
  if (!isRecording()) return work(() => undefined);
  const attributes = {
    'modelgate.protocol': protocol,
    'modelgate.model.reference': formatModelReference(ref),
  };
  return inSpan('predict', attributes, (span: Span) =>
    work((result) =>
      span.setAttributes({
        'modelgate.model.name': result.modelName,
        'modelgate.model.version': result.modelVersion,
      }),
    ),
  );
}
