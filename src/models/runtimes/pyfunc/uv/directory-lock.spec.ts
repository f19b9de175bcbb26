import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirectoryLock, DirectoryLockTimeoutError } from './directory-lock';

describe(DirectoryLock.name, () => {
  let root: string;
  let path: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'mg-dir-lock-'));
    path = join(root, 'env.lock');
  });

  afterEach(() => rm(root, { recursive: true, force: true }));

  it('holds the directory until released', async () => {
    const sut = await DirectoryLock.acquire(path, 1_000);
    expect(existsSync(path)).toBe(true);

    await sut.release();

    expect(existsSync(path)).toBe(false);
  });

  it('makes a second holder wait until the first releases', async () => {
    const first = await DirectoryLock.acquire(path, 1_000);
    let second: DirectoryLock | undefined;
    const waiting = DirectoryLock.acquire(path, 5_000).then((lock) => (second = lock));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(second).toBeUndefined();

    await first.release();
    await waiting;

    expect(second).toBeDefined();
    await second!.release();
  });

  it('gives up after the time-out naming the live holder', async () => {
    await DirectoryLock.acquire(path, 1_000);

    const error = await DirectoryLock.acquire(path, 300).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DirectoryLockTimeoutError);
    expect((error as DirectoryLockTimeoutError).owner).toBe(`${hostname()}:${process.pid}`);
  });

  it('takes over a lock whose process on this host is gone', async () => {
    const exited = spawnSync(process.execPath, ['-e', '0']);
    await mkdir(path);
    await writeFile(join(path, 'owner'), `${hostname()}:${exited.pid}`);

    const sut = await DirectoryLock.acquire(path, 1_000);

    await sut.release();
  });

  it("waits on another host's lock however old its pid looks", async () => {
    await mkdir(path);
    await writeFile(join(path, 'owner'), 'another-host:1');

    await expect(DirectoryLock.acquire(path, 300)).rejects.toThrow(DirectoryLockTimeoutError);
  });
});
