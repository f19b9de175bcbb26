import { INestApplicationContext } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { UpstreamNotFoundError } from '../src/common/upstream/upstream.error';
import { MlflowClient } from '../src/mlflow/mlflow.client';
import { bootApp, stackEnv } from './support/app';
import { sharedStack } from './support/shared-stack';
import { SeededModel } from './support/stack';

describe('MlflowClient against a real MLflow server', () => {
  let modelName: string;
  let app: INestApplicationContext;
  let sut: MlflowClient;
  let seeded: SeededModel;
  let workDir: string;

  beforeAll(async () => {
    const stack = sharedStack();
    seeded = stack.seeded;
    modelName = seeded.model;
    app = await bootApp(stackEnv(stack));
    sut = app.get(MlflowClient);
    workDir = await mkdtemp(path.join(tmpdir(), 'mg-mlflow-'));
  });

  afterAll(async () => {
    await app?.close();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it('reports the server healthy and its version', async () => {
    await expect(sut.health()).resolves.toBe('OK');
    await expect(sut.version()).resolves.toBe(seeded.mlflow_version);
  });

  it('reads a registered model with its aliases and latest version', async () => {
    const model = await sut.getRegisteredModel(modelName);

    expect(model.name).toBe(modelName);
    expect(model.aliases).toEqual({ champion: '2', challenger: '1' });
    expect(model.latestVersions.map((v) => v.version)).toContain('2');
  });

  it('resolves an alias to its version, run and MLflow 3 logged model', async () => {
    const version = await sut.getModelVersionByAlias(modelName, 'champion');

    expect(version.version).toBe(seeded.versions[1].version);
    expect(version.runId).toBe(seeded.versions[1].run_id);
    expect(version.source).toMatch(/^models:\/m-/);
    expect(version.modelId).toBe(seeded.versions[1].model_id);
    expect(version.aliases).toEqual(['champion']);
  });

  it('finds the version in a legacy stage', async () => {
    const version = await sut.getLatestVersion(modelName, 'Production');

    expect(version.version).toBe(seeded.versions[0].version);
    expect(version.stage).toBe('Production');
  });

  it('pages through model versions', async () => {
    const firstPage = await sut.searchModelVersions({
      filter: `name='${modelName}'`,
      maxResults: 1,
    });
    const all: string[] = [];
    for await (const version of sut.allModelVersions(modelName, 1)) all.push(version.version);

    expect(firstPage.items).toHaveLength(1);
    expect(firstPage.nextPageToken).toBeDefined();
    expect(all.sort()).toEqual(['1', '2']);
  });

  it('moves an alias', async () => {
    await sut.setAlias(modelName, 'staging', '1');
    await expect(sut.getModelVersionByAlias(modelName, 'staging')).resolves.toMatchObject({
      version: '1',
    });

    await sut.setAlias(modelName, 'staging', '2');
    await expect(sut.getModelVersionByAlias(modelName, 'staging')).resolves.toMatchObject({
      version: '2',
    });
  });

  it('downloads a version through the artifact proxy, byte for byte as MLflow’s own client does', async () => {
    const expected = seeded.versions[1].files;
    const uri = await sut.getDownloadUri(modelName, seeded.versions[1].version);
    const target = path.join(workDir, 'v2');

    const result = await sut.downloadArtifacts(uri, target);

    expect(uri).toMatch(/^mlflow-artifacts:/);
    expect(await digests(target)).toEqual(expected);
    expect(result.files).toBe(Object.keys(expected).length);
    expect(result.bytes).toBe(await totalBytes(target, Object.keys(expected)));
    expect((await readdir(workDir)).filter((name) => name.includes('.partial-'))).toEqual([]);
  });

  it('reads the training run’s params and latest metrics', async () => {
    const runId = seeded.versions[0].run_id;

    const run = await sut.getRun(runId);

    expect(run.params).toEqual({ alpha: '0.1', max_depth: '3' });
    expect(run.metrics.accuracy).toBeCloseTo(0.9);
  });

  it.each([
    ['an unknown model', () => sut.getRegisteredModel('no-such-model')],
    ['an unknown version', () => sut.getModelVersion(modelName, 99)],
    ['an unknown alias', () => sut.getModelVersionByAlias(modelName, 'no-such-alias')],
    ['an unknown run', () => sut.getRun('0123456789abcdef0123456789abcdef')],
    ['a model with no version in a stage', () => sut.getLatestVersion(modelName, 'Archived')],
  ])('answers %s with the not-found error', async (_what, call) => {
    await expect(call()).rejects.toBeInstanceOf(UpstreamNotFoundError);
  });
});

async function digests(directory: string, relative = ''): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  for (const entry of await readdir(path.join(directory, relative), { withFileTypes: true })) {
    const rel = path.join(relative, entry.name);
    if (entry.isDirectory()) Object.assign(result, await digests(directory, rel));
    else
      result[rel] = createHash('sha256')
        .update(await readFile(path.join(directory, rel)))
        .digest('hex');
  }
  return result;
}

async function totalBytes(directory: string, files: string[]): Promise<number> {
  const sizes = await Promise.all(
    files.map(async (f) => (await stat(path.join(directory, f))).size),
  );
  return sizes.reduce((a, b) => a + b, 0);
}
