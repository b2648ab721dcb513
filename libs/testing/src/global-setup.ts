import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';

/**
 * Jest global setup (jest.config.js): a fresh database for this run on the machine's PostgreSQL (the one
 * infra/scripts/ensure-services.sh starts), migrated once, its URL published as ENGRAM_TEST_DATABASE_URL for every
 * test worker (see test-database.ts). global-teardown.ts drops it.
 *
 * When PostgreSQL cannot be reached the run still goes on: the reason is published instead, and only the tests
 * that need the database fail, each saying why.
 *
 * Jest loads this file outside the test runtime: its module mapping (`@engram/*`, `./x.js` → `./x.ts`) does not
 * apply here. The few project modules needed are therefore imported inside the function, after a resolve hook
 * maps the `.js` specifiers of the TypeScript sources (jest's own hook then compiles them).
 */
/** What global teardown needs to drop the database: set here, read there. */
export const TEST_DATABASE_GLOBAL = '__engramTestDatabase';
export type TestDatabaseGlobal = typeof globalThis & {
  [TEST_DATABASE_GLOBAL]?: { serverUrl: string; name: string };
};

export default async function globalSetup(): Promise<void> {
  buildOnce();
  const hooks = registerHooks({ resolve: resolveTypeScriptSources });
  try {
    const testDb = await import('./test-database.js');
    const { PgSqlExecutor } = await import('../../memory-postgres/src/sql/pg.sql-executor.js');
    const { runMigrations } = await import('../../memory-postgres/src/schema/migration-runner.js');

    const serverUrl = testDb.testPostgresUrl();
    const name = `engram_test_${Date.now()}_${process.pid}`;
    try {
      await createDatabase(serverUrl, name);
      const url = testDb.databaseUrlOf(serverUrl, name);
      const owner = new PgSqlExecutor({ connectionString: url, max: 1, applicationName: 'engram-test-setup' });
      try {
        await runMigrations(owner);
      } finally {
        await owner.close();
      }
      process.env[testDb.TEST_DATABASE_URL_VARIABLE] = url;
      // Jest shares globals between global setup and global teardown (they run in the same process).
      (globalThis as TestDatabaseGlobal)[TEST_DATABASE_GLOBAL] = { serverUrl, name };
    } catch (error) {
      process.env[testDb.TEST_DATABASE_ERROR_VARIABLE] =
        `cannot prepare a test database on ${redact(serverUrl)} (${error instanceof Error ? error.message : String(error)}); ` +
        'is PostgreSQL with pgvector running? run infra/scripts/ensure-services.sh';
    }
  } finally {
    hooks.deregister();
  }
}

async function createDatabase(serverUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    // A database name is an identifier, which cannot be a bind parameter; this one is digits and underscores only.
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
}

/** `./x.js` → `./x.ts` when only the TypeScript source exists (the specifiers the sources use under nodenext). */
function resolveTypeScriptSources(
  specifier: string,
  context: { parentURL?: string },
  nextResolve: (specifier: string, context?: object) => { url: string },
): { url: string; shortCircuit?: boolean } {
  if (specifier.startsWith('.') && specifier.endsWith('.js') && context.parentURL?.startsWith('file:')) {
    const target = new URL(specifier, context.parentURL);
    const source = fileURLToPath(target).replace(/\.js$/, '.ts');
    if (!existsSync(fileURLToPath(target)) && existsSync(source)) {
      return { url: pathToFileURL(source).href, shortCircuit: true };
    }
  }
  return nextResolve(specifier, context);
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable URL)';
  }
}

/**
 * The suites that start real processes (the API, the worker) run the built apps. Building here, once, keeps
 * parallel test workers from rebuilding `dist/` under each other's feet.
 */
function buildOnce(): void {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const build = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: root, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`the build failed:\n${build.stdout}${build.stderr}`);
}
