import { Inject, Injectable, Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { access, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { messageOf } from '../../../common/values';
import { ModelsConfig, modelsConfig } from '../../../config/models.config';
import { MlModel } from '../../mlmodel/mlmodel.types';
import { ModelLoadError } from '../../model.errors';
import { ModelRuntime } from '../model-runtime';
import { OnnxRuntime, sessionOptionsOf } from '../onnx.runtime';
import { ConversionReport, parseConversionReport } from './conversion-report';
import { ConvertedOnnxRuntime } from './converted-onnx.runtime';
import { ConversionSubject, OnnxConverter } from './onnx-converter';

/** Flavors convert.py has a converter for (skl2onnx, onnxmltools). */
export const CONVERTIBLE_FLAVORS = ['sklearn', 'xgboost', 'lightgbm'] as const;
/** Seeds the generated rows: the same model and settings are always checked on the same rows. */
const CHECK_SEED = 20_261_202;
/** Where a version's conversions are kept, inside its cached files. */
export const CONVERSIONS_DIRECTORY = '.modelgate';

/** What the accelerator decided for one version it tried. */
export type Acceleration =
  | { served: true; runtime: ModelRuntime; reason: string }
  /** Served another way (pyfunc), for this reason. */
  | { served: false; reason: string };

/**
 * MODEL_ONNX_ACCELERATE: an sklearn, xgboost or lightgbm version is
 * converted to ONNX at load (OnnxConverter) and served in process when the
 * converted model answers as pyfunc `predict` does on the input example and
 * on generated rows. The verdict is kept beside the version's files, keyed by
 * the settings and the converter, so a later load of the same version does
 * not convert again. `auto` hands an unconverted version on (with the
 * reason), `require` fails its load, `off` never tries.
 */
@Injectable()
export class OnnxAccelerator {
  private readonly logger = new Logger(OnnxAccelerator.name);

  constructor(
    @Inject(modelsConfig.KEY) private readonly config: ModelsConfig,
    private readonly converter: OnnxConverter,
  ) {}

  /**
   * @returns undefined when not tried (off, no flavor with a converter, or no
   *   python_function flavor to check the answers against).
   * @throws ModelLoadError with MODEL_ONNX_ACCELERATE=require when the
   *   version is not served through ONNX, naming the reason.
   */
  async accelerate(
    subject: ConversionSubject,
    mlmodel: MlModel,
  ): Promise<Acceleration | undefined> {
    const { mode } = this.config.onnxAccelerate;
    if (mode === 'off') return undefined;
    // pyfunc `predict` is what the ONNX answers are checked against: without it, nothing to match.
    if (!('python_function' in mlmodel.flavors)) return undefined;
    if (!CONVERTIBLE_FLAVORS.some((flavor) => flavor in mlmodel.flavors)) return undefined;
    const outcome = await this.serve(subject);
    if (!outcome.served && mode === 'require') {
      throw new ModelLoadError(
        subject.name,
        subject.version,
        `MODEL_ONNX_ACCELERATE=require, and it is not served through ONNX: ${outcome.reason}`,
      );
    }
    if (!outcome.served) {
      this.logger.warn(`${subject.name} v${subject.version}: ${outcome.reason}`);
    }
    return outcome;
  }

  private async serve(subject: ConversionSubject): Promise<Acceleration> {
    const directory = this.conversionDirectory(subject);
    let report: ConversionReport;
    try {
      report = await this.reportFor(subject, directory);
    } catch (error) {
      return { served: false, reason: `not converted to ONNX: ${messageOf(error)}` };
    }
    if (!report.converted) {
      return {
        served: false,
        reason: `not converted to ONNX: ${report.reason ?? 'no reason given'}`,
      };
    }
    const file = path.join(directory, report.file as string);
    let onnx: OnnxRuntime;
    try {
      onnx = await OnnxRuntime.load(file, sessionOptionsOf(this.config.onnx));
    } catch (error) {
      return {
        served: false,
        reason: `not converted to ONNX: onnxruntime could not load the converted model: ${messageOf(error)}`,
      };
    }
    return { served: true, runtime: new ConvertedOnnxRuntime(onnx), reason: servedReason(report) };
  }

  /** The kept verdict for these settings, or a new one (kept when it may be). */
  private async reportFor(
    subject: ConversionSubject,
    directory: string,
  ): Promise<ConversionReport> {
    const kept = await readReport(directory);
    if (kept) {
      this.logger.log(
        `${subject.name} v${subject.version}: reusing the ONNX conversion in ${path.relative(subject.directory, directory)}`,
      );
      return kept;
    }
    const { tolerance, checkRows, timeoutMs } = this.config.onnxAccelerate;
    return this.converter.convert(subject, {
      modelDirectory: subject.directory,
      outputDirectory: directory,
      tolerance,
      rows: checkRows,
      seed: CHECK_SEED,
      timeoutMs,
    });
  }

  /** `<version>/.modelgate/onnx-<key>`: one per settings and converter. */
  private conversionDirectory(subject: ConversionSubject): string {
    const { tolerance, checkRows } = this.config.onnxAccelerate;
    const key = createHash('sha256')
      .update(
        JSON.stringify({
          tolerance,
          rows: checkRows,
          seed: CHECK_SEED,
          converter: this.converter.fingerprint,
        }),
      )
      .digest('hex')
      .slice(0, 16);
    return path.join(subject.directory, CONVERSIONS_DIRECTORY, `onnx-${key}`);
  }
}

/** A kept report, or undefined when there is none (or it is unreadable: then it is made again). */
async function readReport(directory: string): Promise<ConversionReport | undefined> {
  try {
    const report = parseConversionReport(
      await readFile(path.join(directory, 'report.json'), 'utf8'),
    );
    if (report.converted) await access(path.join(directory, report.file as string));
    return report;
  } catch {
    return undefined;
  }
}

/** "converted to ONNX by skl2onnx 1.20.0; answers matched pyfunc's on 69 rows (max score difference 3e-7)". */
function servedReason(report: ConversionReport): string {
  const rows = report.rowsChecked ?? 0;
  const matched =
    report.output?.kind === 'scores'
      ? `answers matched pyfunc's on ${rows} rows (max score difference ${(report.maxDifference ?? 0).toPrecision(2)})`
      : `labels matched pyfunc's on ${rows} rows`;
  return `converted to ONNX by ${report.converter}; ${matched}`;
}
