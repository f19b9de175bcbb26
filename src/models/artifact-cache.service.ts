import { Inject, Injectable, Logger } from '@nestjs/common';
import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { ModelsConfig, modelsConfig } from '../config/models.config';
import { MlflowClient } from '../mlflow/mlflow.client';

export interface CachedModelFiles {
  directory: string;
  /** Total size of the files, bytes. */
  bytes: number;
  /** Whether the files were already on disk. */
  hit: boolean;
}

/**
 * Model version files on local disk, keyed by model name and version (MLflow
 * versions never change). The client downloads into a staging directory and
 * renames it into place only when complete, so a directory that exists here is
 * whole, and a restart does not download it again.
 */
@Injectable()
export class ArtifactCache {
  private readonly logger = new Logger(ArtifactCache.name);
  /** Downloads in flight, so two requests for one version download it once. */
  private readonly pending = new Map<string, Promise<CachedModelFiles>>();

  constructor(
    private readonly mlflow: MlflowClient,
    @Inject(modelsConfig.KEY) private readonly config: ModelsConfig,
  ) {}

  directoryFor(name: string, version: string): string {
    // Registered-model names may hold characters a file system dislikes.
    const safe = encodeURIComponent(name).replace(/%/g, '_');
    return path.resolve(this.config.cacheDir, safe, version);
  }

  async fetch(name: string, version: string): Promise<CachedModelFiles> {
    const directory = this.directoryFor(name, version);
    if (existsSync(directory)) {
      return { directory, bytes: await directorySize(directory), hit: true };
    }
    const key = `${name}/${version}`;
    let download = this.pending.get(key);
    if (!download) {
      download = this.download(name, version, directory).finally(() => this.pending.delete(key));
      this.pending.set(key, download);
    }
    return download;
  }

  private async download(
    name: string,
    version: string,
    directory: string,
  ): Promise<CachedModelFiles> {
    const uri = await this.mlflow.getDownloadUri(name, version);
    const result = await this.mlflow.downloadArtifacts(uri, directory);
    this.logger.log(`cached ${name} v${version}: ${result.files} files, ${result.bytes} bytes`);
    return { directory, bytes: result.bytes, hit: false };
  }
}

async function directorySize(directory: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(directory, { withFileTypes: true })) {
    const full = path.join(directory, entry.name);
    total += entry.isDirectory() ? await directorySize(full) : (await stat(full)).size;
  }
  return total;
}
