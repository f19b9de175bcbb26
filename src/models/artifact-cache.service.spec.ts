import { Logger } from '@nestjs/common';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { MlflowClient } from '../mlflow/mlflow.client';
import { DownloadResult, ModelVersion } from '../mlflow/mlflow.types';
import { ArtifactCache, directoryNameOf } from './artifact-cache.service';
import { ModelLoadError } from './model.errors';

/** The two MLflow calls the cache makes, downloading `bytes` bytes of one file. */
class FakeMlflow {
  readonly downloads: string[] = [];
  bytes = 100;

  getDownloadUri(name: string, version: string | number): Promise<string> {
    return Promise.resolve(`mlflow-artifacts:/${name}/${version}`);
  }

  async downloadArtifacts(uri: string, destination: string): Promise<DownloadResult> {
    this.downloads.push(uri);
    await rm(destination, { recursive: true, force: true });
    await mkdir(destination, { recursive: true });
    await writeFile(path.join(destination, 'model.onnx'), Buffer.alloc(this.bytes));
    return { directory: destination, files: 1, bytes: this.bytes };
  }
}

/** A pid no process has now: one of a child that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '0']);
  return child.pid;
}

function version(name: string, v: string, runId = 'run-1'): ModelVersion {
  return {
    name,
    version: v,
    stage: 'None',
    status: 'READY',
    source: `runs:/${runId}/model`,
    runId,
    aliases: [],
    tags: {},
  };
}

describe(ArtifactCache.name, () => {
  let cacheDir: string;
  let mlflow: FakeMlflow;

  async function cache(maxBytes = 10_000): Promise<ArtifactCache> {
    const sut = new ArtifactCache(mlflow as unknown as MlflowClient, {
      cacheDir,
      diskCacheMaxBytes: maxBytes,
    });
    await sut.onModuleInit();
    return sut;
  }

  beforeEach(async () => {
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    cacheDir = await mkdtemp(path.join(tmpdir(), 'mg-artifact-cache-'));
    mlflow = new FakeMlflow();
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('downloads a version once, then serves it from disk, across restarts too', async () => {
    const first = await (await cache()).fetch(version('iris', '1'));
    const again = await (await cache()).fetch(version('iris', '1'));

    expect(first).toMatchObject({ hit: false, bytes: 100 });
    expect(again).toEqual({ directory: first.directory, bytes: 100, hit: true });
    expect(mlflow.downloads).toEqual(['mlflow-artifacts:/iris/1']);
  });

  it('downloads again when the registry names other files for the version (source or run changed)', async () => {
    await (await cache()).fetch(version('iris', '1', 'run-1'));

    const refetched = await (await cache()).fetch(version('iris', '1', 'run-2'));

    expect(refetched.hit).toBe(false);
    expect(mlflow.downloads).toHaveLength(2);
    expect((await (await cache()).fetch(version('iris', '1', 'run-2'))).hit).toBe(true);
  });

  it.each(['../..', '1.0', '01', '', '1/../../x', '-1', 'latest'])(
    'refuses version %p from the registry as a load error, before any path is made',
    async (bad) => {
      const sut = await cache();

      await expect(sut.fetch(version('iris', bad))).rejects.toBeInstanceOf(ModelLoadError);
      expect(mlflow.downloads).toEqual([]);
    },
  );

  it('gives every name its own directory inside the cache', async () => {
    const names = ['a b', 'a_20b', 'a%20b', 'A b', 'a.b', '..', '.', 'a/b', 'a_2fb', 'é', '_c3_a9'];
    const sut = await cache();

    const directories = names.map((name) => sut.directoryFor(name, '1'));

    expect(new Set(directories).size).toBe(names.length);
    for (const directory of directories) {
      expect(path.dirname(path.dirname(directory))).toBe(path.resolve(cacheDir));
    }
  });

  it('encodes names one-to-one: no two of many similar names share an encoding', () => {
    const alphabet = ['a', 'A', '_', '%', '2', '0', ' ', '.', '/', 'f'];
    const names = [''];
    for (let length = 0; length < 4; length++) {
      for (const name of [...names]) for (const c of alphabet) names.push(name + c);
    }
    const unique = [...new Set(names)];

    const encodings = new Set(unique.map(directoryNameOf));

    expect(encodings.size).toBe(unique.length);
    for (const encoded of encodings) expect(encoded).toMatch(/^[a-z0-9_-]*$/);
  });

  /** A fetch of a version that is then unloaded: its files may go when room is needed. */
  async function fetchAndRelease(sut: ArtifactCache, v: ModelVersion) {
    const files = await sut.fetch(v);
    await sut.release(v.name, v.version);
    return files;
  }

  it('removes the least recently used versions past MODEL_DISK_CACHE_MAX_BYTES', async () => {
    const sut = await cache(250);
    const one = await fetchAndRelease(sut, version('iris', '1'));
    const two = await fetchAndRelease(sut, version('iris', '2'));
    await fetchAndRelease(sut, version('iris', '1')); // now 2 is the least recently used

    const three = await sut.fetch(version('iris', '3'));

    expect(existsSync(one.directory)).toBe(true);
    expect(existsSync(two.directory)).toBe(false);
    expect(existsSync(three.directory)).toBe(true);
    expect(sut.bytes).toBe(200);
  });

  it('never removes a version loaded now (fetched, not released yet), even past the bound', async () => {
    const sut = await cache(150);
    const one = await sut.fetch(version('iris', '1'));
    const two = await sut.fetch(version('other', '1'));

    expect(existsSync(one.directory)).toBe(true);
    expect(existsSync(two.directory)).toBe(true);
    expect(sut.bytes).toBe(200);
    expect(existsSync(`${one.directory}.users/${process.pid}`)).toBe(true);
  });

  it('removes a released version when room is needed, with its marker', async () => {
    const sut = await cache(150);
    const one = await fetchAndRelease(sut, version('iris', '1'));
    await sut.fetch(version('other', '1'));

    expect(existsSync(one.directory)).toBe(false);
    expect(existsSync(`${one.directory}.users`)).toBe(false);
  });

  it('holds a version fetched twice until both fetches are released', async () => {
    const sut = await cache(150);
    const one = await sut.fetch(version('iris', '1'));
    await sut.fetch(version('iris', '1'));
    await sut.release('iris', '1');
    await sut.fetch(version('other', '1'));

    expect(existsSync(one.directory)).toBe(true);
  });

  it('releases the hold of a fetch that failed', async () => {
    const sut = await cache();
    mlflow.downloadArtifacts = () => Promise.reject(new Error('artifact store down'));

    await expect(sut.fetch(version('iris', '1'))).rejects.toThrow('artifact store down');
    expect(await readdir(`${sut.directoryFor('iris', '1')}.users`)).toEqual([]);
  });

  it('removes downloads a dead process left unfinished, at start', async () => {
    const model = path.join(cacheDir, directoryNameOf('iris'));
    const stale = path.join(model, `1.partial-${2 ** 22 + 1}-1700000000000`);
    const live = path.join(model, `2.partial-${process.ppid}-1700000000000`);
    await mkdir(stale, { recursive: true });
    await mkdir(live, { recursive: true });

    await cache();

    expect(await readdir(model)).toEqual([path.basename(live)]);
  });

  describe('shared by several processes (API_WORKERS > 1)', () => {
    /** The parent of this test process: alive for as long as the test runs, and not us. */
    const otherLiveProcess = process.ppid;

    it('waits while another live process downloads the version, then uses its copy', async () => {
      const sut = await cache();
      const directory = sut.directoryFor('iris', '1');
      await mkdir(path.dirname(directory), { recursive: true });
      await writeFile(`${directory}.lock`, String(otherLiveProcess));

      const fetching = sut.fetch(version('iris', '1'));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(mlflow.downloads).toEqual([]);
      // The other process finishes: its files and metadata in place, its lock gone.
      await mkdir(directory, { recursive: true });
      await writeFile(path.join(directory, 'model.onnx'), Buffer.alloc(100));
      await writeFile(
        `${directory}.meta.json`,
        JSON.stringify({
          name: 'iris',
          version: '1',
          source: 'runs:/run-1/model',
          runId: 'run-1',
          bytes: 100,
        }),
      );
      await rm(`${directory}.lock`);

      expect(await fetching).toEqual({ directory, bytes: 100, hit: true });
      expect(mlflow.downloads).toEqual([]);
    });

    it('takes over the lock of a process that died, and downloads', async () => {
      const sut = await cache();
      const directory = sut.directoryFor('iris', '1');
      await mkdir(path.dirname(directory), { recursive: true });
      await writeFile(`${directory}.lock`, String(deadPid()));

      expect(await sut.fetch(version('iris', '1'))).toMatchObject({ hit: false });
      expect(mlflow.downloads).toEqual(['mlflow-artifacts:/iris/1']);
      expect(existsSync(`${directory}.lock`)).toBe(false);
    });

    it('never removes a version another live process uses, and removes one only a dead process marked', async () => {
      const sut = await cache(250);
      const used = await fetchAndRelease(sut, version('iris', '1'));
      const abandoned = await fetchAndRelease(sut, version('iris', '2'));
      await writeFile(`${used.directory}.users/${otherLiveProcess}`, '');
      await writeFile(`${abandoned.directory}.users/${deadPid()}`, '');

      await sut.fetch(version('other', '1'));

      expect(existsSync(used.directory)).toBe(true);
      expect(existsSync(abandoned.directory)).toBe(false);
    });

    it('removes at start the markers of processes that died (and its own pid’s, a previous container’s)', async () => {
      const directory = path.join(cacheDir, 'iris', '1');
      await mkdir(`${directory}.users`, { recursive: true });
      for (const pid of [deadPid(), otherLiveProcess, process.pid]) {
        await writeFile(`${directory}.users/${pid}`, '');
      }

      await cache();

      expect(await readdir(`${directory}.users`)).toEqual([String(otherLiveProcess)]);
    });

    it('removes at start the locks of processes that died, and keeps those of live ones', async () => {
      const dir = path.join(cacheDir, 'iris');
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, '1.lock'), String(deadPid()));
      await writeFile(path.join(dir, '2.lock'), String(otherLiveProcess));

      await cache();

      expect((await readdir(dir)).sort()).toEqual(['2.lock']);
    });
  });
});
