import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const ROOT = path.resolve(__dirname, '..');
const run = promisify(execFile);

/**
 * The benchmark is not run by `npm test`, but its first step is: every suite
 * compiles bench/*.ts as bench/run.sh does before it starts anything, and a
 * file that command cannot take stopped every `npm run bench` for a whole
 * stop without a test noticing (bench/metric-series.ts imports src/).
 */
describe('bench/run.sh --compile-only', () => {
  it('compiles the load generators and the report as every suite does', async () => {
    const { stderr } = await run('bash', ['bench/run.sh', '--compile-only'], {
      cwd: ROOT,
      timeout: 120_000,
    });

    expect(stderr).toMatch(/compiled: [1-9]\d* files/);
  });
});
