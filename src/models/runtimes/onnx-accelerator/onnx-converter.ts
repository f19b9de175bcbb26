import { ConversionReport, ConversionRequest } from './conversion-report';

/** The model version a conversion is for (what chooses its Python). */
export interface ConversionSubject {
  name: string;
  version: string;
  directory: string;
}

/**
 * Converts one model version to ONNX and checks its answers against MLflow's
 * pyfunc predict. An abstract class, so Nest can inject it and specs can give
 * a fake that the compiler keeps to the same shape.
 */
export abstract class OnnxConverter {
  /**
   * Changes whenever the conversion itself does (the script's content): part
   * of the cache key, so a new converter never reuses an old verdict.
   */
  abstract readonly fingerprint: string;

  /**
   * Runs one conversion. Resolves with its report (converted or not, and
   * why); rejects when the converter itself failed (it could not start, it
   * crashed, its answer was unreadable), which no later load should reuse.
   */
  abstract convert(
    subject: ConversionSubject,
    request: ConversionRequest,
  ): Promise<ConversionReport>;
}
