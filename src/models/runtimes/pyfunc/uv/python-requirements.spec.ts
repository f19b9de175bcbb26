import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  PythonRequirementsError,
  environmentKey,
  readPythonRequirements,
  requirementName,
} from './python-requirements';

describe(readPythonRequirements.name, () => {
  let dir: string;

  async function files(entries: Record<string, string>): Promise<string> {
    for (const [name, text] of Object.entries(entries)) {
      await mkdir(join(dir, name, '..'), { recursive: true });
      await writeFile(join(dir, name), text);
    }
    return dir;
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mg-python-req-'));
  });

  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('reads the Python minor version and the requirements python_env.yaml includes', async () => {
    const sut = await readPythonRequirements(
      await files({
        'python_env.yaml':
          'python: 3.11.7\nbuild_dependencies:\n- pip==23.2.1\n- wheel\ndependencies:\n- -r requirements.txt\n',
        'requirements.txt': 'mlflow==3.17.2\nscikit-learn==1.9.1\n',
      }),
    );

    expect(sut).toEqual({
      python: '3.11',
      requirements: ['mlflow==3.17.2', 'scikit-learn==1.9.1'],
    });
  });

  it('keeps python 3.10 as "3.10", not the number 3.1', async () => {
    const sut = await readPythonRequirements(
      await files({ 'python_env.yaml': 'python: 3.10\ndependencies:\n- mlflow==3.17.2\n' }),
    );

    expect(sut.python).toBe('3.10');
  });

  it('falls back to requirements.txt without python_env.yaml, naming no Python', async () => {
    const sut = await readPythonRequirements(await files({ 'requirements.txt': 'mlflow\n' }));

    expect(sut).toEqual({ python: undefined, requirements: ['mlflow'] });
  });

  it('normalizes: comments and blank lines dropped, spaces collapsed, duplicates removed, sorted', async () => {
    const sut = await readPythonRequirements(
      await files({
        'requirements.txt':
          '# from MLflow\nnumpy==2.4.6  # pinned\n\nmlflow  ==3.17.2\nnumpy==2.4.6\n',
      }),
    );

    expect(sut.requirements).toEqual(['mlflow ==3.17.2', 'numpy==2.4.6']);
  });

  it('follows -r into files of the model directory', async () => {
    const sut = await readPythonRequirements(
      await files({
        'requirements.txt': '-r extra/more.txt\nmlflow\n',
        'extra/more.txt': 'pandas\n',
      }),
    );

    expect(sut.requirements).toEqual(['mlflow', 'pandas']);
  });

  it.each([
    ['--index-url https://elsewhere/simple', /option "--index-url" is not taken/],
    ['-e git+https://x/y', /option "-e" is not taken/],
    ['-r ../../etc/passwd', /outside the model directory/],
    ['-r /etc/passwd', /outside the model directory/],
    ['-r absent.txt', /includes absent\.txt, which the model does not have/],
  ])('refuses %s', async (line, message) => {
    await files({ 'requirements.txt': `mlflow\n${line}\n` });

    await expect(readPythonRequirements(dir)).rejects.toThrow(message);
  });

  it('refuses a -r loop', async () => {
    await files({ 'requirements.txt': 'mlflow\n-r requirements.txt\n' });

    await expect(readPythonRequirements(dir)).rejects.toThrow(/nested more than 3 deep/);
  });

  it('refuses requirements without mlflow, which the worker imports', async () => {
    await files({ 'requirements.txt': 'scikit-learn\n' });

    await expect(readPythonRequirements(dir)).rejects.toThrow(PythonRequirementsError);
  });

  it('takes mlflow-skinny for mlflow', async () => {
    await files({ 'requirements.txt': 'mlflow_skinny==3.17.2\n' });

    await expect(readPythonRequirements(dir)).resolves.toMatchObject({
      requirements: ['mlflow_skinny==3.17.2'],
    });
  });

  it('says what is missing when the model has no environment files', async () => {
    await expect(readPythonRequirements(dir)).rejects.toThrow(
      /neither python_env\.yaml nor requirements\.txt/,
    );
  });

  it('refuses a python_env.yaml that is not a mapping with a version', async () => {
    await files({ 'python_env.yaml': 'python: latest\n' });

    await expect(readPythonRequirements(dir)).rejects.toThrow(/python must be a version/);
  });
});

describe(environmentKey.name, () => {
  const spec = { python: '3.11', requirements: ['mlflow==3.17.2', 'numpy==2.4.6'] };

  it('is a SHA-256 that depends on the requirements and the Python version', () => {
    const key = environmentKey(spec, 'python3');

    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(environmentKey({ ...spec, python: '3.12' }, 'python3')).not.toBe(key);
    expect(environmentKey({ ...spec, requirements: ['mlflow==3.17.2'] }, 'python3')).not.toBe(key);
    expect(environmentKey(spec, '/other/python')).toBe(key);
  });

  it('depends on PYFUNC_PYTHON when the model names no version', () => {
    const bare = { requirements: spec.requirements };

    expect(environmentKey(bare, 'python3')).not.toBe(environmentKey(bare, '/usr/bin/python3.12'));
  });
});

describe(requirementName.name, () => {
  it.each([
    ['mlflow==3.17.2', 'mlflow'],
    ['Scikit_Learn>=1.0', 'scikit-learn'],
    ['zope.interface', 'zope-interface'],
    ['torch[cpu] ; python_version>"3"', 'torch'],
  ])('%s → %s', (line, name) => {
    expect(requirementName(line)).toBe(name);
  });
});
