/**
 * `npm run key -- <name> <scopes> [models]`: makes a new API key and prints
 * it once, with the entry to add to API_KEYS or API_KEYS_FILE (the entry
 * holds only the key's SHA-256, so neither file nor environment has the key).
 *
 *     npm run key -- ci predict+read 'iris*'
 */
import { randomBytes } from 'node:crypto';
import { ApiKeyListError, digestOfKey, parseApiKeys } from '../config/api-keys.parser';
import { SCOPES } from '../common/scopes';

/** 32 random bytes (256 bits), base64url; the prefix makes a leaked key easy to grep for. */
export function newApiKey(): string {
  return `mg_${randomBytes(32).toString('base64url')}`;
}

/** The configuration entry for `key`: `name:scopes[:models]=sha256:<hex>`, checked by the parser. */
export function entryFor(key: string, name: string, scopes: string, models?: string): string {
  const fields = [name, scopes, ...(models === undefined ? [] : [models])].join(':');
  const entry = `${fields}=sha256:${digestOfKey(key).toString('hex')}`;
  parseApiKeys(entry, 'API_KEYS_FILE');
  return entry;
}

function main(args: string[]): number {
  const [name, scopes, models, ...rest] = args;
  if (name === undefined || scopes === undefined || rest.length > 0) {
    process.stderr.write(
      'usage: npm run key -- <name> <scopes> [model-patterns]\n' +
        `  scopes: ${SCOPES.join(', ')}, joined with "+" or ","  (admin holds them all)\n` +
        '  model-patterns: names the key may use, ","-separated, "*" a wildcard (\'iris*,wine\')\n',
    );
    return 2;
  }
  const key = newApiKey();
  let entry: string;
  try {
    entry = entryFor(key, name, scopes, models);
  } catch (error) {
    if (!(error instanceof ApiKeyListError)) throw error;
    process.stderr.write(`${error.message.replace('API_KEYS_FILE entry 1: ', '')}\n`);
    return 2;
  }
  process.stdout.write(`key: ${key}\nentry: ${entry}\n`);
  process.stderr.write(
    '\nGive the key to the client now: it is not stored anywhere and cannot be shown again.\n' +
      'Add the entry to API_KEYS (entries separated by ";") or as a line of API_KEYS_FILE,\n' +
      'then restart the API. Call with either header:\n' +
      `  curl -H 'X-API-Key: ${key}' http://localhost:8000/v1/models\n` +
      `  curl -H 'Authorization: Bearer ${key}' http://localhost:8000/v1/models\n`,
  );
  return 0;
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2));
}
