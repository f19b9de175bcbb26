import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { getMetadataStorage } from 'class-validator';
import { readFileSync } from 'node:fs';
import { ENVIRONMENT_CLASSES, readEnvironment as sut } from './environment';

describe('readEnvironment', () => {
  const originalCwd = process.cwd();
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'environment-spec-'));
    process.chdir(dir);
  });

  afterEach(async () => {
    process.chdir(originalCwd);
    await rm(dir, { recursive: true, force: true });
  });

  it('lets deployment/.env beat ./.env, and the process environment beat both', async () => {
    await writeFile('.env', 'FROM_ROOT=root\nSHARED=root\nOVERRIDDEN=root\n');
    await mkdir('deployment');
    await writeFile('deployment/.env', 'SHARED=deployment\nOVERRIDDEN=deployment\n');

    const env = sut({ OVERRIDDEN: 'process' });

    expect(env.FROM_ROOT).toBe('root');
    expect(env.SHARED).toBe('deployment');
    expect(env.OVERRIDDEN).toBe('process');
  });

  it('reads only the process environment when there are no files', () => {
    expect(sut({ ONLY: 'process' })).toEqual({ ONLY: 'process' });
  });

  it('reads deployment/.env alone', async () => {
    await mkdir('deployment');
    await writeFile('deployment/.env', 'API_PORT=9000\n');

    expect(sut({})).toEqual({ API_PORT: '9000' });
  });

  it('reads process.env by default', async () => {
    await writeFile('.env', 'READ_ENVIRONMENT_SPEC_VAR=file\n');
    process.env.READ_ENVIRONMENT_SPEC_VAR = 'process';
    try {
      expect(sut().READ_ENVIRONMENT_SPEC_VAR).toBe('process');
    } finally {
      delete process.env.READ_ENVIRONMENT_SPEC_VAR;
    }
  });
});

describe('.env.example', () => {
  const example = readFileSync(path.resolve(__dirname, '../../.env.example'), 'utf8');

  it('lists every variable the server reads, set or commented out', () => {
    const variables = ENVIRONMENT_CLASSES.flatMap((cls) =>
      getMetadataStorage()
        .getTargetValidationMetadatas(cls, '', true, false)
        .map((m) => m.propertyName),
    );
    const missing = [...new Set(variables)].filter(
      (name) => !new RegExp(`^#? ?${name}=`, 'm').test(example),
    );

    expect(variables.length).toBeGreaterThan(40);
    expect(missing).toEqual([]);
  });
});
