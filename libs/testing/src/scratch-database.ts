import { randomInt } from 'node:crypto';
import pg from 'pg';
import { databaseNameOf, databaseUrlOf, testDatabaseUrl, testPostgresUrl } from './test-database.js';

/** A database of its own for one test, on the server of the run's test database. */
export interface ScratchDatabase {
  /** Its URL, as the superuser that owns it (like the run's test database). */
  url: string;
  name: string;
  /** Drops it, terminating its connections first. */
  drop(): Promise<void>;
}

/** Scratch databases are named after the run's database, so global teardown finds those a failed test left. */
export const SCRATCH_DATABASE_NAME = /^engram_test_\d+_\d+_s\d+$/;

/**
 * An empty database (no migrations), for tests that need a schema nobody else touches: migrations racing on a
 * fresh database, row-level security switched on, planner statistics of a data set of their own.
 */
export async function createScratchDatabase(): Promise<ScratchDatabase> {
  const name = `${databaseNameOf(testDatabaseUrl())}_s${randomInt(1e9)}`;
  if (!SCRATCH_DATABASE_NAME.test(name)) throw new Error(`unexpected scratch database name ${name}`);
  // Identifiers cannot be bind parameters; the name is checked above to be letters, digits and underscores.
  await withServer((client) => client.query(`CREATE DATABASE "${name}"`));
  return {
    url: databaseUrlOf(testPostgresUrl(), name),
    name,
    drop: () => dropDatabase(name),
  };
}

/** Drops a test or scratch database of this run, terminating its connections first. */
export async function dropDatabase(name: string): Promise<void> {
  if (!SCRATCH_DATABASE_NAME.test(name)) throw new Error(`refusing to drop ${name}: not a scratch database`);
  await withServer(async (client) => {
    await client.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [name],
    );
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  });
}

async function withServer<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: testPostgresUrl(), connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
