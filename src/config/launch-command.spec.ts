import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Every way the server is shipped starts it with the same node flags as
 * `npm start` (README "Memory"): the image, the systemd unit, and the bench
 * (bench/lib.sh reads them from package.json). Workers inherit them from the
 * primary (node:cluster forks with its execArgv).
 */
const ROOT = join(__dirname, '..', '..');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

function npmStart(): string[] {
  const start = (JSON.parse(read('package.json')) as { scripts: { start: string } }).scripts.start;
  return start.split(' ');
}

describe('the launch command', () => {
  it('caps the young generation in `npm start`', () => {
    expect(npmStart()).toEqual(['node', '--max-semi-space-size=8', 'dist/main.js']);
  });

  it('is the same in both images of the Dockerfile', () => {
    const commands = [...read('deployment/Dockerfile').matchAll(/^CMD (\[.*\])$/gm)].map(
      (m) => JSON.parse(m[1]) as string[],
    );

    expect(commands).toEqual([npmStart(), npmStart()]);
  });

  it('is the same in the systemd unit', () => {
    const exec = /^ExecStart=(.*)$/m.exec(read('deployment/modelgate.service'))?.[1];

    expect(exec?.split(' ')).toEqual(['/usr/bin/node', ...npmStart().slice(1)]);
  });

  it('keeps the young generation at 2 × 8 MB on this node under allocation', () => {
    const script = [
      'const kept = [];',
      'for (let i = 0; i < 4e6; i++) { const o = { i, a: [i, i] }; if (i % 20 === 0) kept.push(o); }',
      "const space = require('v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');",
      'process.stdout.write(String(space.space_size));',
    ].join('\n');
    const youngBytes = (flags: string[]) =>
      Number(execFileSync(process.execPath, [...flags, '-e', script], { encoding: 'utf8' }));
    const flags = npmStart().slice(1, -1);

    expect(youngBytes(flags)).toBeLessThanOrEqual(16 * 2 ** 20);
    // The same script grows it past that without the flag: the check above is not vacuous.
    expect(youngBytes([])).toBeGreaterThan(16 * 2 ** 20);
  });
});
