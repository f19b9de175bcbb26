/**
 * What convert.py writes to `report.json` beside a converted model (and
 * prints on stdout): the verdict, and enough to say why and how.
 */
export interface ConversionReport {
  converted: boolean;
  /** Why the ONNX form is not used (`converted: false`), in the converter's words. */
  reason?: string;
  /** False for a verdict that another try may change (the time limit ran out): not kept. */
  cacheable?: boolean;
  /** `skl2onnx 1.20.0`, `onnxmltools 1.16.0`. */
  converter?: string;
  flavor?: string;
  estimator?: string;
  /** Package name → version, of the Python that converted and compared. */
  versions?: Record<string, string>;
  settings?: { tolerance: { absolute: number; relative: number }; rows: number; seed: number };
  input?: { name: string; dtype: string; width: number };
  output?: { name: string; dtype: string; shape: number[]; kind: 'labels' | 'scores' };
  rows?: { example: number; generated: number };
  rowsChecked?: number;
  /** Largest |onnx − pyfunc| over every score compared (0 for labels). */
  maxDifference?: number;
  /** The converted model, relative to the report's directory. */
  file?: string;
  durationSeconds?: number;
}

/** What one conversion is asked to do (convert.py's stdin). */
export interface ConversionRequest {
  modelDirectory: string;
  /** Where `report.json` and `model.onnx` go (replaced whole). */
  outputDirectory: string;
  tolerance: number;
  rows: number;
  seed: number;
  timeoutMs: number;
}

/** Reads a report: the fields a decision rests on must be there. */
export function parseConversionReport(text: string): ConversionReport {
  const report = JSON.parse(text) as ConversionReport;
  if (typeof report !== 'object' || report === null || typeof report.converted !== 'boolean') {
    throw new Error('the conversion report has no verdict (converted: true or false)');
  }
  if (report.converted && (typeof report.file !== 'string' || !report.converter)) {
    throw new Error('the conversion report names no converted file or converter');
  }
  return report;
}
