import { hostname } from 'node:os';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Waited longer than allowed for another process's lock. */
export class DirectoryLockTimeoutError extends Error {
  constructor(
    readonly path: string,
    readonly owner: string | undefined,
  ) {
    super(`timed out waiting for ${path} (held by ${owner ?? 'an unknown process'})`);
    this.name = DirectoryLockTimeoutError.name;
  }
}

const OWNER_FILE = 'owner';
/** How often a waiter looks again; an environment build takes seconds, not milliseconds. */
const POLL_MS = 200;

/**
 * A lock between processes that share a directory (two servers, one
 * PYFUNC_ENV_DIR): `mkdir` is atomic, so whoever creates the directory holds
 * it. The holder writes `host:pid` inside; a waiter on the same host takes
 * over a lock whose process is gone (a server killed mid-build), so a crash
 * never wedges the environment.
 */
export class DirectoryLock {
  private constructor(private readonly path: string) {}

  static async acquire(path: string, timeoutMs: number): Promise<DirectoryLock> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (await tryCreate(path)) return new DirectoryLock(path);
      const owner = await readOwner(path);
      if (owner !== undefined && isDeadLocalOwner(owner)) {
        await rm(path, { recursive: true, force: true });
        continue;
      }
      if (Date.now() >= deadline) throw new DirectoryLockTimeoutError(path, owner);
      await sleep(POLL_MS);
    }
  }

  async release(): Promise<void> {
    await rm(this.path, { recursive: true, force: true });
  }
}

async function tryCreate(path: string): Promise<boolean> {
  try {
    await mkdir(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  await writeFile(join(path, OWNER_FILE), `${hostname()}:${process.pid}`);
  return true;
}

async function readOwner(path: string): Promise<string | undefined> {
  try {
    return (await readFile(join(path, OWNER_FILE), 'utf8')).trim() || undefined;
  } catch {
    // Just created and not written yet, or released meanwhile: look again.
    return undefined;
  }
}

function isDeadLocalOwner(owner: string): boolean {
  const [host, pidText] = owner.split(':');
  const pid = Number(pidText);
  if (host !== hostname() || !Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
