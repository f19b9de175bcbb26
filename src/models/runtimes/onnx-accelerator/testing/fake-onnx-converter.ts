import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { ELEM, tinyOnnxModel } from '../../testing/tiny-onnx';
import { ConversionReport, ConversionRequest } from '../conversion-report';
import { ConversionSubject, OnnxConverter } from '../onnx-converter';

/** What convert.py reports for an sklearn classifier it converted. */
export const CONVERTED: ConversionReport = {
  converted: true,
  converter: 'skl2onnx 1.20.0',
  flavor: 'sklearn',
  output: { name: 'predictions', dtype: 'int64', shape: [-1], kind: 'labels' },
  rowsChecked: 69,
  maxDifference: 0,
  file: 'model.onnx',
};

/**
 * The served graph convert.py would write for a two-column classifier:
 * `input` float64 [N, 2] → `predictions` int64 [N], the larger column's index.
 */
export function convertedClassifier(): Uint8Array {
  return tinyOnnxModel({
    inputs: [{ name: 'input', elemType: ELEM.DOUBLE, dims: ['N', 2] }],
    outputs: [{ name: 'predictions', elemType: ELEM.INT64, dims: ['N'] }],
    nodes: [
      { op: 'ArgMax', inputs: ['input'], outputs: ['predictions'], ints: { axis: 1, keepdims: 0 } },
    ],
  });
}

/**
 * Answers with a set report (or failure) and writes what convert.py writes:
 * report.json, and model.onnx when converted. Records every request.
 */
export class FakeOnnxConverter extends OnnxConverter {
  readonly requests: ConversionRequest[] = [];
  fingerprint = 'fake-1';

  constructor(private answer: ConversionReport | Error = CONVERTED) {
    super();
  }

  answerWith(answer: ConversionReport | Error): void {
    this.answer = answer;
  }

  async convert(
    _subject: ConversionSubject,
    request: ConversionRequest,
  ): Promise<ConversionReport> {
    this.requests.push(request);
    if (this.answer instanceof Error) throw this.answer;
    const report = this.answer;
    if (report.cacheable !== false) {
      await mkdir(request.outputDirectory, { recursive: true });
      if (report.converted) {
        await writeFile(path.join(request.outputDirectory, 'model.onnx'), convertedClassifier());
      }
      await writeFile(path.join(request.outputDirectory, 'report.json'), JSON.stringify(report));
    }
    return report;
  }
}
