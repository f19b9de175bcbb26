import { Logger } from '@nestjs/common';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ModelLoadError } from '../../../model.errors';
import { CommandResult, CommandRunner } from './command';
import { STAMP_FILE, UvEnvironments } from './uv-environments';

/** uv 0.13.9's own words when a requirement names a package no index has. */
const NOT_FOUND_STDERR = (requirement: string, name: string): string =>
  'Using Python 3.11.7 environment at: x\n' +
  'error: No solution found when resolving dependencies\n' +
  `  cause: Because ${name} was not found in the package registry and you require ${requirement}, ` +
  'we can conclude that your requirements are unsatisfiable.\n';

/**
 * uv and the venv's python as a typed fake: `venv` makes bin/python, `pip
 * install` fails for a requirement starting `missing-`, the priming import
 * prints a version. Every call is recorded.
 */
class FakeUv {
  readonly calls: string[][] = [];
  pythons = new Set(['3.11']);
  /** Resolves pending installs one at a time, to hold a build open. */
  installGate?: Promise<void>;

  readonly run: CommandRunner = async (command, args) => {
    this.calls.push([command, ...args]);
    if (args[0] === '--version') return ok('uv 0.13.9');
    if (args[0] === 'venv') return this.venv(args);
    if (args[0] === 'pip') return this.install(args);
    if (args[0] === '-c') return ok('3.11.7\n');
    throw new Error(`unexpected command ${command} ${args.join(' ')}`);
  };

  count(step: 'venv' | 'pip'): number {
    return this.calls.filter((call) => call[1] === step).length;
  }

  private async venv(args: readonly string[]): Promise<CommandResult> {
    const python = args[args.indexOf('--python') + 1];
    if (!this.pythons.has(python)) {
      return fail(
        `error: No interpreter found for Python ${python} in virtual environments or search path`,
      );
    }
    const venv = args[args.length - 1];
    await mkdir(join(venv, 'bin'), { recursive: true });
    await writeFile(join(venv, 'bin', 'python'), '');
    return ok('');
  }

  private async install(args: readonly string[]): Promise<CommandResult> {
    await this.installGate;
    const file = args[args.indexOf('-r') + 1];
    const missing = (await readFile(file, 'utf8'))
      .split('\n')
      .find((l) => l.startsWith('missing-'));
    return missing ? fail(NOT_FOUND_STDERR(missing, missing.split('==')[0])) : ok('');
  }
}

function ok(stdout: string): CommandResult {
  return { code: 0, stdout, stderr: '', timedOut: false };
}

function fail(stderr: string): CommandResult {
  return { code: 1, stdout: '', stderr, timedOut: false };
}

describe(UvEnvironments.name, () => {
  let root: string;
  let envDir: string;
  let uv: FakeUv;

  function environments(): UvEnvironments {
    return new UvEnvironments({ envDir, python: 'python3', buildTimeoutMs: 5_000 }, uv.run);
  }

  /** A model directory as MLflow writes one: python_env.yaml naming requirements.txt. */
  async function modelDir(name: string, requirements: string, python = '3.11.7'): Promise<string> {
    const dir = join(root, 'models', name);
    await mkdir(dir, { recursive: true });
    await writeFile(
      join(dir, 'python_env.yaml'),
      `python: ${python}\nbuild_dependencies:\n- pip==23.2.1\ndependencies:\n- -r requirements.txt\n`,
    );
    await writeFile(join(dir, 'requirements.txt'), requirements);
    return dir;
  }

  const SKLEARN = 'mlflow==3.17.2\nscikit-learn==1.9.1\nnumpy==2.4.6\n';

  beforeEach(async () => {
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    root = await mkdtemp(join(tmpdir(), 'mg-uv-envs-'));
    envDir = join(root, 'envs');
    uv = new FakeUv();
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await rm(root, { recursive: true, force: true });
  });

  it('builds a venv with the Python of python_env.yaml and returns its interpreter', async () => {
    const sut = environments();

    const python = await sut.pythonFor({
      name: 'm',
      version: '1',
      directory: await modelDir('a', SKLEARN),
    });

    expect(python).toBe(join(dirname(python), 'python'));
    expect(dirname(dirname(dirname(python)))).toBe(envDir);
    const venvCall = uv.calls.find((call) => call[1] === 'venv')!;
    expect(venvCall).toEqual(expect.arrayContaining(['--python', '3.11', '--no-python-downloads']));
    const stamp = JSON.parse(await readFile(join(dirname(dirname(python)), STAMP_FILE), 'utf8'));
    expect(stamp).toMatchObject({
      python: '3.11.7',
      requirements: SKLEARN.trim().split('\n').sort(),
    });
  });

  it('reuses one venv for versions whose requirements differ only in order and comments', async () => {
    const sut = environments();
    const first = await sut.pythonFor({
      name: 'm',
      version: '1',
      directory: await modelDir('a', SKLEARN),
    });

    const second = await sut.pythonFor({
      name: 'm',
      version: '2',
      directory: await modelDir(
        'b',
        '# logged again\nnumpy==2.4.6\n\nscikit-learn==1.9.1  # ml\nmlflow==3.17.2\n',
      ),
    });

    expect(second).toBe(first);
    expect(uv.count('venv')).toBe(1);
    expect(uv.count('pip')).toBe(1);
  });

  it('reuses a stamped venv after a restart without running uv', async () => {
    const directory = await modelDir('a', SKLEARN);
    const first = await environments().pythonFor({ name: 'm', version: '1', directory });
    uv.calls.length = 0;

    const again = await environments().pythonFor({ name: 'm', version: '1', directory });

    expect(again).toBe(first);
    expect(uv.calls).toEqual([]);
  });

  it('gives other requirements or another Python their own venv', async () => {
    uv.pythons.add('3.12');
    const sut = environments();
    const a = await sut.pythonFor({
      name: 'm',
      version: '1',
      directory: await modelDir('a', SKLEARN),
    });
    const b = await sut.pythonFor({
      name: 'm',
      version: '2',
      directory: await modelDir('b', `${SKLEARN}pandas==3.1.1\n`),
    });
    const c = await sut.pythonFor({
      name: 'm',
      version: '3',
      directory: await modelDir('c', SKLEARN, '3.12.1'),
    });

    expect(new Set([a, b, c]).size).toBe(3);
    expect(await readdir(envDir)).toHaveLength(3);
  });

  it('builds an environment once for two loads that ask at the same time', async () => {
    let open!: () => void;
    uv.installGate = new Promise((resolve) => (open = resolve));
    const sut = environments();
    const both = Promise.all([
      sut.pythonFor({ name: 'm', version: '1', directory: await modelDir('a', SKLEARN) }),
      sut.pythonFor({ name: 'm', version: '2', directory: await modelDir('b', SKLEARN) }),
    ]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    open();

    const [a, b] = await both;

    expect(a).toBe(b);
    expect(uv.count('pip')).toBe(1);
  });

  it('waits for another process building the same environment and reuses its result', async () => {
    const directory = await modelDir('a', SKLEARN);
    const other = environments();
    let open!: () => void;
    uv.installGate = new Promise((resolve) => (open = resolve));
    const building = other.pythonFor({ name: 'm', version: '1', directory });
    await new Promise((resolve) => setTimeout(resolve, 50));

    const waiting = environments().pythonFor({ name: 'm', version: '2', directory });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(uv.count('pip')).toBe(1);
    open();

    expect(await waiting).toBe(await building);
    expect(uv.count('pip')).toBe(1);
  });

  it('rebuilds a venv that has no stamp (a build that was cut off)', async () => {
    const directory = await modelDir('a', SKLEARN);
    const python = await environments().pythonFor({ name: 'm', version: '1', directory });
    const venv = dirname(dirname(python));
    await rm(join(venv, STAMP_FILE));
    await writeFile(join(venv, 'leftover'), '');

    await environments().pythonFor({ name: 'm', version: '1', directory });

    expect(uv.count('pip')).toBe(2);
    expect(existsSync(join(venv, 'leftover'))).toBe(false);
    expect(existsSync(join(venv, STAMP_FILE))).toBe(true);
  });

  it('fails the load naming the package uv cannot find, leaving no venv behind', async () => {
    const directory = await modelDir('a', `${SKLEARN}missing-package==1.0\n`);

    const error = await environments()
      .pythonFor({ name: 'm', version: '3', directory })
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ModelLoadError);
    expect((error as ModelLoadError).version).toBe('3');
    expect((error as ModelLoadError).reason).toMatch(
      /^package missing-package==1\.0 cannot be installed .*was not found in the package registry/,
    );
    expect(await readdir(envDir)).toEqual([]);
  });

  it('tries a failed environment again on the next load', async () => {
    const directory = await modelDir('a', `${SKLEARN}missing-package==1.0\n`);
    const sut = environments();
    await expect(sut.pythonFor({ name: 'm', version: '3', directory })).rejects.toThrow(
      ModelLoadError,
    );

    await expect(sut.pythonFor({ name: 'm', version: '3', directory })).rejects.toThrow(
      ModelLoadError,
    );

    expect(uv.count('pip')).toBe(2);
  });

  it('fails the load naming the Python version this host does not have', async () => {
    const directory = await modelDir('a', SKLEARN, '3.8.10');

    await expect(environments().pythonFor({ name: 'm', version: '1', directory })).rejects.toThrow(
      /needs Python 3\.8 \(python_env\.yaml\) and this host has no such interpreter/,
    );
    expect(uv.count('pip')).toBe(0);
  });

  it('fails the load when the model lists no mlflow for the worker', async () => {
    const directory = await modelDir('a', 'scikit-learn==1.9.1\n');

    await expect(environments().pythonFor({ name: 'm', version: '1', directory })).rejects.toThrow(
      /do not list mlflow/,
    );
    expect(uv.calls).toEqual([]);
  });

  it('fails the load naming PYFUNC_UV when no uv runs', async () => {
    const run: CommandRunner = () =>
      Promise.reject(Object.assign(new Error('spawn'), { code: 'ENOENT' }));
    const sut = new UvEnvironments(
      { envDir, python: 'python3', buildTimeoutMs: 5_000, uv: '/no/uv' },
      run,
    );

    await expect(
      sut.pythonFor({ name: 'm', version: '1', directory: await modelDir('a', SKLEARN) }),
    ).rejects.toThrow(/none runs here \(tried \/no\/uv; set PYFUNC_UV\)/);
  });

  it('passes PYFUNC_INDEX_URL to uv as the index', async () => {
    const sut = new UvEnvironments(
      { envDir, python: 'python3', buildTimeoutMs: 5_000, indexUrl: 'file:///srv/simple' },
      uv.run,
    );

    await sut.pythonFor({ name: 'm', version: '1', directory: await modelDir('a', SKLEARN) });

    const install = uv.calls.find((call) => call[1] === 'pip')!;
    expect(install).toEqual(expect.arrayContaining(['--index-url', 'file:///srv/simple']));
  });
});
