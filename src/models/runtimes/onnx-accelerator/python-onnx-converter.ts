import { Injectable, Logger } from '@nestjs/common';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { PythonEnvironment } from '../pyfunc/python-environment.service';
import { ConversionReport, ConversionRequest, parseConversionReport } from './conversion-report';
import { ConversionSubject, OnnxConverter } from './onnx-converter';

/** Beside this file in src/ and in dist/ (nest-cli.json copies `**\/*.py`). */
const SCRIPT = path.join(__dirname, 'convert.py');
/** What is kept of the converter's stderr (its log) for an error message. */
const STDERR_KEPT = 8 * 1024;
/** The report is one JSON line; anything near this is not one. */
const STDOUT_MAX = 1024 * 1024;
/** Past the script's own time limit (checked between its steps), it is killed. */
const KILL_GRACE_MS = 10_000;

/**
 * convert.py run once per conversion on the model's Python (the one its
 * pyfunc workers would run on, PythonEnvironment): a JSON request on
 * stdin, the report as the last line of stdout, its log on stderr. The
 * process is killed when it runs past the time limit.
 */
@Injectable()
export class PythonOnnxConverter extends OnnxConverter {
  readonly fingerprint = createHash('sha256')
    .update(readFileSync(SCRIPT))
    .digest('hex')
    .slice(0, 16);
  private readonly logger = new Logger(PythonOnnxConverter.name);

  constructor(private readonly environment: PythonEnvironment) {
    super();
  }

  async convert(subject: ConversionSubject, request: ConversionRequest): Promise<ConversionReport> {
    const python = await this.environment.pythonFor(subject);
    const stdin = JSON.stringify({
      model_dir: request.modelDirectory,
      output_dir: request.outputDirectory,
      tolerance: { absolute: request.tolerance, relative: request.tolerance },
      rows: request.rows,
      seed: request.seed,
      time_limit_seconds: request.timeoutMs / 1000,
    });
    this.logger.log(`converting ${subject.name} v${subject.version} to ONNX with ${python}`);
    const { code, stdout, stderr, timedOut } = await run(
      python,
      ['-u', SCRIPT],
      stdin,
      request.timeoutMs + KILL_GRACE_MS,
    );
    if (timedOut) {
      return {
        converted: false,
        cacheable: false,
        reason: `the conversion took longer than ${request.timeoutMs / 1000} s (MODEL_ONNX_CONVERT_TIMEOUT)`,
      };
    }
    if (code !== 0) {
      throw new Error(`convert.py exited with ${code}: ${lastLine(stderr) ?? 'no message'}`);
    }
    const line = lastLine(stdout);
    if (!line) throw new Error('convert.py printed no report');
    return parseConversionReport(line);
  }
}

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

function run(command: string, args: string[], stdin: string, timeoutMs: number): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      if (stdout.length < STDOUT_MAX) stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_KEPT);
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`the converter could not start (${command}): ${error.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
    child.stdin.on('error', () => undefined); // a child that exits early closes its stdin: 'close' says why
    child.stdin.end(stdin);
  });
}

function lastLine(text: string): string | undefined {
  return text
    .trim()
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .pop();
}
