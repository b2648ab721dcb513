import pg from 'pg';

/** Set by global setup (jest runs both in one process and shares their globals). */
const TEST_DATABASE_GLOBAL = '__engramTestDatabase';
type TestDatabaseGlobal = typeof globalThis & {
  [TEST_DATABASE_GLOBAL]?: { serverUrl: string; name: string };
};

/** The only names this teardown drops: those global setup makes. */
const TEST_DATABASE_NAME = /^engram_test_\d+_\d+$/;

/**
 * Jest global teardown: drops this run's test database, and the scratch databases of this run that a failed test
 * left behind (`<name>_s<n>`, see scratch-database.ts). Connections still open on them (a pool a test forgot to
 * close, a worker killed mid-test) would block DROP DATABASE, so they are terminated first.
 */
export default async function globalTeardown(): Promise<void> {
  const database = (globalThis as TestDatabaseGlobal)[TEST_DATABASE_GLOBAL];
  if (!database) return;
  // The name goes into DROP DATABASE as an identifier (identifiers cannot be bind parameters).
  if (!TEST_DATABASE_NAME.test(database.name))
    throw new Error(`refusing to drop ${database.name}: not a test database`);

  const client = new pg.Client({ connectionString: database.serverUrl, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    const scratch = await client.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname ~ ('^' || $1 || '_s[0-9]+$')`,
      [database.name],
    );
    for (const name of [...scratch.rows.map((row) => row.datname), database.name]) {
      await client.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [name],
      );
      // Both kinds of name are letters, digits and underscores only (checked above, and by the pattern).
      await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    }
  } finally {
    await client.end();
  }
  delete (globalThis as TestDatabaseGlobal)[TEST_DATABASE_GLOBAL];
}
