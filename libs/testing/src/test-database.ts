/**
 * The per-run test database. Jest's global setup (global-setup.ts) creates `engram_test_<timestamp>_<pid>` on the
 * machine's PostgreSQL, migrates it once and publishes its URL in the environment, which jest passes on to every
 * test worker; global teardown drops it. Integration tests get the URL from `testDatabaseUrl()`.
 *
 * It is the OWNER's URL (the role that ran the migrations). Tests of request traffic open the provider through
 * `createPostgresMemoryProvider`, which switches its pool to the restricted app role, exactly as production does.
 */

/** Where global setup publishes the test database's URL. */
export const TEST_DATABASE_URL_VARIABLE = 'ENGRAM_TEST_DATABASE_URL';
/** Where global setup explains why there is no test database (e.g. PostgreSQL is down). */
export const TEST_DATABASE_ERROR_VARIABLE = 'ENGRAM_TEST_DATABASE_ERROR';
/** Overrides the server the test database is created on (default: postgres on 127.0.0.1:5432, trust auth). */
export const TEST_POSTGRES_URL_VARIABLE = 'ENGRAM_TEST_POSTGRES_URL';

export const DEFAULT_TEST_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** Test database names: what global setup creates and the only names global teardown will drop. */
export const TEST_DATABASE_NAME = /^engram_test_\d+_\d+$/;

/**
 * The URL of this run's test database. Throws, with the reason global setup recorded, when there is none, so that
 * integration tests fail with "run infra/scripts/ensure-services.sh" rather than a connection error, while unit
 * tests (which never call this) still run without PostgreSQL.
 */
export function testDatabaseUrl(): string {
  const url = process.env[TEST_DATABASE_URL_VARIABLE];
  if (url) return url;
  const reason = process.env[TEST_DATABASE_ERROR_VARIABLE] ?? 'jest global setup did not run (see jest.config.js)';
  throw new Error(`no test database: ${reason}`);
}

/** The URL of `database` on the server of `serverUrl`. */
export function databaseUrlOf(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/** The database a URL names. */
export function databaseNameOf(url: string): string {
  return decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
}

/** The admin server URL of this run: the override, or the local default. */
export function testPostgresUrl(): string {
  return process.env[TEST_POSTGRES_URL_VARIABLE] || DEFAULT_TEST_POSTGRES_URL;
}
