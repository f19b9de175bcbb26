import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');
/** The inference clients' environment (requirements-clients.txt: tritonclient, kserve). */
const PYTHON = path.join(ROOT, '.venv-clients/bin/python');

/**
 * Runs `test/fixtures/<script>` with the clients' Python, `input` as JSON on
 * stdin, and returns the JSON object it prints last.
 */
export async function runClientScript<T>(script: string, input: unknown): Promise<T> {
  if (!existsSync(PYTHON)) {
    throw new Error(`${PYTHON} is missing: run scripts/python-env.sh (npm test does)`);
  }
  const child = run(PYTHON, [path.join(ROOT, 'test/fixtures', script)], {
    env: { ...process.env, PYTHONWARNINGS: 'ignore' },
    maxBuffer: 16 * 1024 * 1024,
    timeout: 120_000,
  });
  child.child.stdin!.end(JSON.stringify(input));
  const { stdout } = await child;
  const line = stdout
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  if (!line) throw new Error(`${script} printed no JSON:\n${stdout}`);
  return JSON.parse(line) as T;
}
