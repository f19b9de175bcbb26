import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { ModelsConfig, modelsConfig } from '../config/models.config';
import { messageOf } from '../common/values';
import { MlflowClient } from '../mlflow/mlflow.client';
import { ModelVersion } from '../mlflow/mlflow.types';
import { ModelLoadError } from './model.errors';

export interface CachedModelFiles {
  directory: string;
  /** Total size of the files, bytes. */
  bytes: number;
  /** Whether the files were already on disk. */
  hit: boolean;
}

/** What the cache wrote beside a version's files: what they are a copy of. */
interface CacheMetadata {
  name: string;
  version: string;
  /** The registry's `source` and `run_id` when downloaded: reused only while they still match. */
  source: string | null;
  runId: string | null;
  bytes: number;
}

interface CacheEntry {
  metadata: CacheMetadata;
  /** Epoch ms of the last fetch (the metadata file's mtime across restarts). */
  lastUsedMs: number;
}

/** MLflow registry versions are 1, 2, 3…: anything else is refused before it reaches a path. */
const INTEGER_VERSION = /^[1-9][0-9]{0,17}$/;
/** Bytes kept as they are in a directory name; every other byte is `_` and two hex digits. */
const PLAIN_BYTE = /^[a-z0-9-]$/;
/** A download's staging directory (MlflowClient.downloadArtifacts): `<version>.partial-<pid>-<ms>`. */
const STAGING = /^\d+\.partial-(\d+)-\d+$/;
const METADATA_SUFFIX = '.meta.json';
/** `<version>.lock`: held (holding the holder's pid) while one process downloads that version. */
const LOCK_SUFFIX = '.lock';
/**
 * `<version>.users/<pid>`: one empty file per process that uses the
 * version's files now (fetched, not yet released), so the prune of another
 * process sharing the directory leaves them.
 */
const USERS_SUFFIX = '.users';
/** How often a process waiting for another's download of the same version looks again. */
const LOCK_POLL_MS = 100;

/**
 * A registered-model name as one directory name, one-to-one: lowercase
 * letters, digits and `-` stay, every other UTF-8 byte (`_` and `%`, `.`,
 * `/`, capitals included) becomes `_` and two lowercase hex digits. Every `_`
 * starts an escape, so two names never share a directory (`a b` → `a_20b`,
 * `a_20b` → `a_5f20b`); no result is `.`/`..` or holds a separator, and
 * capitals are escaped so case-insensitive file systems keep names apart too.
 */
export function directoryNameOf(name: string): string {
  let encoded = '';
  for (const byte of Buffer.from(name, 'utf8')) {
    const char = String.fromCharCode(byte);
    encoded += PLAIN_BYTE.test(char) ? char : `_${byte.toString(16).padStart(2, '0')}`;
  }
  return encoded;
}

/**
 * Model version files on local disk, one directory per model name and
 * version. The client downloads into a staging directory and renames it into
 * place only when complete, and a metadata file beside it records the
 * registry's `source` and `run_id`: a cached version is reused (across
 * restarts too) only while the registry still names the same files.
 *
 * The disk is bounded (MODEL_DISK_CACHE_MAX_BYTES): after each download the
 * least recently used versions go until the total fits, never one held now
 * (fetched and not released: loaded or loading) nor one being downloaded. Staging
 * directories left by a process that died mid-download are removed at start.
 *
 * Several processes may share the directory (the workers of API_WORKERS > 1,
 * or instances on one volume): a download holds `<version>.lock`, created
 * exclusively, so a second process asking for the same version at once waits
 * for the first and then finds its copy, instead of deleting and renaming
 * over it. A lock whose holder has died is taken over. A version is in use
 * from its `fetch` until its `release` (unloaded, or its load failed): this
 * process marks it in `<version>.users/<pid>`, and no process's prune
 * removes a version a live process marks. Liveness is a pid check, so the
 * processes must share a pid namespace (the workers of one host, or
 * containers started with the host's pids) as for the download lock.
 */
@Injectable()
export class ArtifactCache implements OnModuleInit {
  private readonly logger = new Logger(ArtifactCache.name);
  /** Downloads in flight, by directory, so two requests for one version download it once. */
  private readonly pending = new Map<string, Promise<CachedModelFiles>>();
  /** Complete versions on disk, by directory. */
  private readonly entries = new Map<string, CacheEntry>();
  /** Fetches not released yet, by directory: this process uses those files. */
  private readonly held = new Map<string, number>();

  constructor(
    private readonly mlflow: MlflowClient,
    @Inject(modelsConfig.KEY)
    private readonly config: Pick<ModelsConfig, 'cacheDir' | 'diskCacheMaxBytes'>,
  ) {}

  /** Indexes what earlier runs left, and removes their unfinished downloads. */
  async onModuleInit(): Promise<void> {
    const root = path.resolve(this.config.cacheDir);
    for (const model of await directoriesIn(root)) {
      const dir = path.join(root, model);
      for (const entry of await readdir(dir).catch(() => [])) {
        await this.indexOrClean(dir, entry);
      }
    }
  }

  /** Bytes of the complete versions on disk. */
  get bytes(): number {
    let total = 0;
    for (const { metadata } of this.entries.values()) total += metadata.bytes;
    return total;
  }

  directoryFor(name: string, version: string): string {
    if (!INTEGER_VERSION.test(version)) {
      throw new ModelLoadError(
        name,
        version,
        'the registry gave a version that is not a whole number; it is not used in a file path',
      );
    }
    if (name.length === 0) throw new ModelLoadError(name, version, 'the model name is empty');
    return path.resolve(this.config.cacheDir, directoryNameOf(name), version);
  }

  /**
   * The files of `version`, downloaded unless a whole copy is here, and held
   * for this process until `release`: what is loaded or loading here is
   * exactly what is held (a load fetches before anything else).
   */
  async fetch(version: ModelVersion): Promise<CachedModelFiles> {
    const directory = this.directoryFor(version.name, version.version);
    // Marked before the files are looked at: another process's prune between the two would remove them.
    await this.hold(directory);
    try {
      return await this.fetchHeld(version, directory);
    } catch (error) {
      await this.release(version.name, version.version);
      throw error;
    }
  }

  /** This process no longer uses the files of `name/version` (unloaded, or its load failed). */
  async release(name: string, version: string): Promise<void> {
    const directory = this.directoryFor(name, version);
    const count = (this.held.get(directory) ?? 0) - 1;
    if (count > 0) {
      this.held.set(directory, count);
      return;
    }
    this.held.delete(directory);
    await rm(userMarker(directory, process.pid), { force: true });
  }

  private async hold(directory: string): Promise<void> {
    const count = this.held.get(directory) ?? 0;
    this.held.set(directory, count + 1);
    if (count > 0) return;
    await mkdir(`${directory}${USERS_SUFFIX}`, { recursive: true });
    await writeFile(userMarker(directory, process.pid), '');
  }

  private async fetchHeld(version: ModelVersion, directory: string): Promise<CachedModelFiles> {
    let download = this.pending.get(directory);
    if (download) return download;
    const cached = await this.reusable(directory, version);
    if (cached) return cached;
    download = this.download(version, directory).finally(() => this.pending.delete(directory));
    this.pending.set(directory, download);
    return download;
  }

  /** The cached copy of `version` if it is whole and still what the registry names. */
  private async reusable(
    directory: string,
    version: ModelVersion,
  ): Promise<CachedModelFiles | undefined> {
    const metadata = await readMetadata(directory);
    if (!metadata || !existsSync(directory)) return undefined;
    if (
      metadata.source !== (version.source ?? null) ||
      metadata.runId !== (version.runId ?? null)
    ) {
      this.logger.warn(
        `${version.name} v${version.version}: the cached copy came from another source or run; downloading again`,
      );
      return undefined;
    }
    const now = Date.now();
    // Re-inserted, so the map's order is the order of use: the stable sort in
    // prune() then breaks ties between uses in the same millisecond.
    this.entries.delete(directory);
    this.entries.set(directory, { metadata, lastUsedMs: now });
    const seconds = now / 1000;
    await utimes(metadataPath(directory), seconds, seconds).catch(() => undefined);
    return { directory, bytes: metadata.bytes, hit: true };
  }

  private async download(version: ModelVersion, directory: string): Promise<CachedModelFiles> {
    const release = await this.lock(directory);
    try {
      // Another process may have downloaded it while this one waited for the lock.
      const cached = await this.reusable(directory, version);
      if (cached) return cached;
      return await this.downloadLocked(version, directory);
    } finally {
      await release();
    }
  }

  /**
   * Takes `<directory>.lock` (exclusive create, holding this pid), waiting
   * while a live process holds it; the holder's download is bounded by its
   * own timeouts. Returns the release.
   */
  private async lock(directory: string): Promise<() => Promise<void>> {
    const file = `${directory}${LOCK_SUFFIX}`;
    await mkdir(path.dirname(file), { recursive: true });
    let waited = false;
    for (;;) {
      try {
        await writeFile(file, String(process.pid), { flag: 'wx' });
        return () => rm(file, { force: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = Number(await readFile(file, 'utf8').catch(() => ''));
      if (!Number.isInteger(holder) || holder <= 0 || !processAlive(holder)) {
        // Empty: the holder is between creating and writing it; give it a moment first.
        if (holder > 0 || waited) await rm(file, { force: true });
      } else if (!waited) {
        this.logger.log(`${directory}: process ${holder} is downloading it; waiting for it`);
      }
      waited = true;
      await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
    }
  }

  private async downloadLocked(
    version: ModelVersion,
    directory: string,
  ): Promise<CachedModelFiles> {
    const { name } = version;
    // No metadata while the files change: a crash in between leaves a copy that is never reused.
    this.entries.delete(directory);
    await rm(metadataPath(directory), { force: true });
    const uri = await this.mlflow.getDownloadUri(name, version.version);
    const result = await this.mlflow.downloadArtifacts(uri, directory);
    const metadata: CacheMetadata = {
      name,
      version: version.version,
      source: version.source ?? null,
      runId: version.runId ?? null,
      bytes: result.bytes,
    };
    await writeFile(metadataPath(directory), JSON.stringify(metadata));
    this.entries.set(directory, { metadata, lastUsedMs: Date.now() });
    this.logger.log(
      `cached ${name} v${version.version}: ${result.files} files, ${result.bytes} bytes`,
    );
    await this.prune(directory);
    return { directory, bytes: result.bytes, hit: false };
  }

  /**
   * Least recently used first, until the cache fits; never `keep`, a
   * download, what this process holds, or what another live process holds.
   */
  private async prune(keep: string): Promise<void> {
    let total = this.bytes;
    if (total <= this.config.diskCacheMaxBytes) return;
    const candidates: [string, CacheEntry][] = [];
    for (const [directory, entry] of this.entries) {
      if (directory === keep || this.pending.has(directory) || this.held.has(directory)) continue;
      if (await usedByAnotherProcess(directory)) continue;
      candidates.push([directory, entry]);
    }
    candidates.sort(([, a], [, b]) => a.lastUsedMs - b.lastUsedMs);
    for (const [directory, { metadata }] of candidates) {
      if (total <= this.config.diskCacheMaxBytes) break;
      this.entries.delete(directory);
      try {
        await rm(directory, { recursive: true, force: true });
        await rm(metadataPath(directory), { force: true });
        await rm(`${directory}${USERS_SUFFIX}`, { recursive: true, force: true });
      } catch (error) {
        this.logger.warn(
          `cannot remove ${metadata.name} v${metadata.version}: ${messageOf(error)}`,
        );
        continue;
      }
      total -= metadata.bytes;
      this.logger.log(
        `removed ${metadata.name} v${metadata.version} from the disk cache (least recently used)`,
      );
    }
    if (total > this.config.diskCacheMaxBytes) {
      this.logger.warn(
        `the disk cache holds ${total} bytes, over MODEL_DISK_CACHE_MAX_BYTES=${this.config.diskCacheMaxBytes}: the rest is loaded now`,
      );
    }
  }

  private async indexOrClean(dir: string, entry: string): Promise<void> {
    const full = path.join(dir, entry);
    const staging = STAGING.exec(entry);
    if (staging) {
      // Another live process (a worker sharing the cache) may still be downloading into it.
      if (!processAlive(Number(staging[1]))) {
        await rm(full, { recursive: true, force: true });
        this.logger.log(`removed an unfinished download: ${full}`);
      }
      return;
    }
    if (entry.endsWith(USERS_SUFFIX)) {
      // This process uses nothing yet: a marker with its pid is a previous container's.
      for (const pid of await readdir(full).catch(() => [])) {
        if (!(isPid(pid) && processAlive(Number(pid)))) {
          await rm(path.join(full, pid), { recursive: true, force: true });
        }
      }
      return;
    }
    if (entry.endsWith(LOCK_SUFFIX)) {
      const holder = Number(await readFile(full, 'utf8').catch(() => ''));
      if (!(holder > 0 && processAlive(holder))) await rm(full, { force: true });
      return;
    }
    if (!entry.endsWith(METADATA_SUFFIX)) return;
    const directory = full.slice(0, -METADATA_SUFFIX.length);
    const metadata = await readMetadata(directory);
    if (!metadata || !existsSync(directory)) {
      await rm(full, { force: true });
      return;
    }
    const { mtimeMs } = await stat(full);
    this.entries.set(directory, { metadata, lastUsedMs: mtimeMs });
  }
}

function metadataPath(directory: string): string {
  return `${directory}${METADATA_SUFFIX}`;
}

function userMarker(directory: string, pid: number): string {
  return path.join(`${directory}${USERS_SUFFIX}`, String(pid));
}

/** Whether a live process other than this one marks the version's files as in use. */
async function usedByAnotherProcess(directory: string): Promise<boolean> {
  const pids = await readdir(`${directory}${USERS_SUFFIX}`).catch(() => []);
  return pids.some((pid) => isPid(pid) && processAlive(Number(pid)));
}

async function readMetadata(directory: string): Promise<CacheMetadata | undefined> {
  try {
    const value = JSON.parse(await readFile(metadataPath(directory), 'utf8')) as CacheMetadata;
    const valid =
      typeof value.name === 'string' &&
      typeof value.version === 'string' &&
      typeof value.bytes === 'number' &&
      (value.source === null || typeof value.source === 'string') &&
      (value.runId === null || typeof value.runId === 'string');
    return valid ? value : undefined;
  } catch {
    return undefined;
  }
}

async function directoriesIn(root: string): Promise<string[]> {
  await mkdir(root, { recursive: true });
  const entries = await readdir(root, { withFileTypes: true });
  return entries.filter((e) => e.isDirectory()).map((e) => e.name);
}

/** A marker's name is a pid: a positive integer (signal 0 to pid 0 would ask our own process group). */
function isPid(name: string): boolean {
  return /^[1-9][0-9]{0,9}$/.test(name);
}

/**
 * Signal 0 checks that the process exists without touching it; EPERM means it
 * exists. Our own pid is a previous process's (containers restart as pid 1):
 * this one has started no download yet when it looks.
 */
function processAlive(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
