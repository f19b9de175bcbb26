import { readFileSync } from 'node:fs';
import * as path from 'node:path';

/** This server's version, from package.json (read once at start). */
export const SERVICE_VERSION: string = (
  JSON.parse(readFileSync(path.resolve(__dirname, '../../package.json'), 'utf8')) as {
    version: string;
  }
).version;

export const SERVICE_NAME = 'modelgate';
