import { createHash } from 'node:crypto';

/**
 * The API key every test sends unless it says otherwise: authentication is on
 * by default, and most tests are about something else. `admin` holds every scope.
 */
export const TEST_API_KEY = 'mg_test-admin-key-0123456789abcdefghijklmno';

/** Its API_KEYS entry, as `npm run key` prints it (the hash, not the key). */
export const TEST_API_KEYS = `test-admin:admin=sha256:${createHash('sha256').update(TEST_API_KEY).digest('hex')}`;

/** The header the test harness adds to requests it sends. */
export const TEST_AUTH_HEADER = { 'x-api-key': TEST_API_KEY } as const;
