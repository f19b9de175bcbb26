import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PyfuncConfig } from '../../../config/pyfunc.config';
import { ModelLoadError } from '../../model.errors';
import { PythonEnvironment } from './python-environment.service';

function config(env: PyfuncConfig['env'], root: string): PyfuncConfig {
  return {
    workerEnv: { ...process.env },
    workers: 1,
    env,
    python: '/opt/python/bin/python3',
    envDir: join(root, 'envs'),
    uv: '/nonexistent/uv',
    indexUrl: undefined,
    envBuildTimeoutMs: 5_000,
    maxRssBytes: 0,
    predictTimeoutMs: 1_000,
    startTimeoutMs: 1_000,
  };
}

describe(PythonEnvironment.name, () => {
  let root: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'mg-python-env-'));
  });

  afterEach(() => rm(root, { recursive: true, force: true }));

  it('runs every version on PYFUNC_PYTHON with PYFUNC_ENV=local', async () => {
    const sut = new PythonEnvironment(config('local', root));

    await expect(sut.pythonFor({ name: 'm', version: '1', directory: root })).resolves.toBe(
      '/opt/python/bin/python3',
    );
  });

  it("builds from the version's own requirements with PYFUNC_ENV=uv, failing the load without them", async () => {
    const sut = new PythonEnvironment(config('uv', root));

    const error = await sut
      .pythonFor({ name: 'm', version: '1', directory: root })
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ModelLoadError);
    expect((error as ModelLoadError).reason).toMatch(
      /neither python_env\.yaml nor requirements\.txt/,
    );
  });
});
