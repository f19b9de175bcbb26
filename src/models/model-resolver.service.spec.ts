import { ModelReference, parseModelReference } from '../common/model-reference';
import { UpstreamNotFoundError, UpstreamTransientError } from '../common/upstream/upstream.error';
import { MlflowClient } from '../mlflow/mlflow.client';
import { ModelVersion } from '../mlflow/mlflow.types';
import { ModelNotFoundError } from './model.errors';
import { ModelResolver } from './model-resolver.service';

function version(name: string, number: string, status = 'READY'): ModelVersion {
  return { name, version: number, stage: 'None', status, aliases: [], tags: {} };
}

const notFound = (what: string) => new UpstreamNotFoundError('mlflow', 'not_found', what);

/** The MLflow registry as the resolver reads it: aliases, versions and stages, and every call made. */
class FakeMlflow implements Pick<
  MlflowClient,
  'getModelVersionByAlias' | 'getModelVersion' | 'getLatestVersion' | 'allModelVersions'
> {
  readonly aliases = new Map<string, string>();
  readonly stages = new Map<string, string>();
  versions: ModelVersion[] = [];
  readonly calls: string[] = [];
  failWith?: Error;

  getModelVersionByAlias(name: string, alias: string): Promise<ModelVersion> {
    this.calls.push(`alias ${name}@${alias}`);
    return this.answer(this.aliases.get(`${name}@${alias}`), `alias ${alias} of ${name}`, name);
  }

  getModelVersion(name: string, number: string | number): Promise<ModelVersion> {
    this.calls.push(`version ${name}/${number}`);
    const found = this.versions.find((v) => v.name === name && v.version === String(number));
    return this.answer(found?.version, `version ${number} of ${name}`, name);
  }

  getLatestVersion(name: string, stage: string): Promise<ModelVersion> {
    this.calls.push(`stage ${name}/${stage}`);
    return this.answer(this.stages.get(`${name}/${stage}`), `stage ${stage} of ${name}`, name);
  }

  async *allModelVersions(name: string): AsyncGenerator<ModelVersion> {
    this.calls.push(`all ${name}`);
    await Promise.resolve();
    yield* this.versions.filter((v) => v.name === name);
  }

  private answer(number: string | undefined, what: string, name: string): Promise<ModelVersion> {
    if (this.failWith) return Promise.reject(this.failWith);
    if (!number) return Promise.reject(notFound(`${what} not found`));
    return Promise.resolve(version(name, number));
  }
}

describe(ModelResolver.name, () => {
  let mlflow: FakeMlflow;
  let sut: ModelResolver;
  const resolve = (text: string): Promise<ModelVersion> => sut.resolve(parseModelReference(text));

  beforeEach(() => {
    mlflow = new FakeMlflow();
    mlflow.versions = [version('iris', '1'), version('iris', '2'), version('iris', '3', 'PENDING')];
    sut = new ModelResolver(mlflow, { defaultAlias: 'champion' });
  });

  it('asks MLflow for the alias, version or stage the reference names', async () => {
    mlflow.aliases.set('iris@challenger', '2');
    mlflow.stages.set('iris/Production', '1');

    expect((await resolve('iris@challenger')).version).toBe('2');
    expect((await resolve('models:/iris/1')).version).toBe('1');
    expect((await resolve('iris/Production')).version).toBe('1');
    expect(mlflow.calls).toEqual([
      'alias iris@challenger',
      'version iris/1',
      'stage iris/Production',
    ]);
  });

  it('takes latest as the highest version that finished registering', async () => {
    expect((await resolve('iris/latest')).version).toBe('2');
  });

  it('reads a bare name as the default alias, else the latest version', async () => {
    mlflow.aliases.set('iris@champion', '1');
    expect((await resolve('iris')).version).toBe('1');

    mlflow.aliases.clear();
    expect((await resolve('iris')).version).toBe('2');
    expect(mlflow.calls.slice(-2)).toEqual(['alias iris@champion', 'all iris']);
  });

  it('answers ModelNotFoundError naming the reference when MLflow has no such thing', async () => {
    const nothing: ModelReference = { name: 'wine', selector: { kind: 'latest' } };

    await expect(resolve('iris@gone')).rejects.toThrow(ModelNotFoundError);
    await expect(resolve('iris@gone')).rejects.toThrow(/^model iris@gone not found: /);
    await expect(sut.resolve(nothing)).rejects.toThrow(
      'model wine/latest not found: registered model wine has no ready version',
    );
  });

  it('lets any other failure through as it came (the caller keeps serving)', async () => {
    const down = new UpstreamTransientError('mlflow', 'connection_refused', 'connection refused');
    mlflow.failWith = down;

    await expect(resolve('iris@champion')).rejects.toBe(down);
  });
});
