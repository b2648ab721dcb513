import type { SqlExecutor } from '../sql/sql-executor.js';
import { withSchemaLock } from './schema-lock.js';

/**
 * The role request traffic runs as when no DATABASE_APP_URL is given: the owner's connections switch to it with
 * `SET ROLE`. It can read and write the memory tables and nothing else: no DDL, and above all neither superuser
 * nor BYPASSRLS, both of which skip row-level security (the cloud edition's tenant isolation depends on it).
 * NOLOGIN: nobody connects as it, the owner becomes it.
 *
 * `SET ROLE` guards against statements that forget a tenant filter (row-level security then applies), not against
 * arbitrary SQL, which could `RESET ROLE`: Engram only ever sends its own parameterised statements. Deployments
 * that want the stronger boundary give DATABASE_APP_URL a LOGIN role of its own.
 */
export const APP_ROLE = 'engram_app';

/** The tables request traffic reads and writes; `migrations` is deliberately not among them. */
export const APP_TABLES = ['memories', 'memory_history', 'inference_events', 'memory_scope_versions'] as const;

/**
 * Creates the app role when missing, makes sure it has no right to bypass row-level security, lets the owner
 * switch to it, and grants it the table privileges. Idempotent; run with the owner connection at boot, after the
 * migrations. Needs an owner that is superuser or has CREATEROLE; otherwise configure DATABASE_APP_URL instead.
 */
export async function ensureAppRole(owner: SqlExecutor): Promise<void> {
  try {
    await withSchemaLock(owner, (tx) => prepareAppRole(tx));
  } catch (error) {
    if ((error as { code?: unknown }).code === INSUFFICIENT_PRIVILEGE) {
      throw new Error(
        `the DATABASE_URL role may not create or grant the role ${APP_ROLE}: give it CREATEROLE, or set DATABASE_APP_URL ` +
          `to a role with SELECT, INSERT, UPDATE and DELETE on ${APP_TABLES.join(', ')}`,
        { cause: error },
      );
    }
    throw error;
  }
}

const INSUFFICIENT_PRIVILEGE = '42501';

async function prepareAppRole(tx: SqlExecutor): Promise<void> {
  // The schema lock is per database and roles are per cluster: two databases of one server can race to create
  // the role, so losing that race is fine too.
  await tx.query(`DO $$
    BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${APP_ROLE}') THEN
        CREATE ROLE ${APP_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
      END IF;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL;
    END $$`);
  const [role] = await tx.query<{ rolsuper: boolean; rolbypassrls: boolean; member: boolean }>(
    `SELECT rolsuper, rolbypassrls, pg_has_role(current_user, oid, 'MEMBER') AS member
       FROM pg_roles WHERE rolname = $1`,
    [APP_ROLE],
  );
  if (!role) throw new Error(`role ${APP_ROLE} could not be created`);
  // Someone widened the role by hand: request traffic must never run with these.
  if (role.rolsuper || role.rolbypassrls) await tx.query(`ALTER ROLE ${APP_ROLE} NOSUPERUSER NOBYPASSRLS`);
  if (!role.member) await tx.query(`GRANT ${APP_ROLE} TO CURRENT_USER`);
  await tx.query(`DO $$ BEGIN EXECUTE format('GRANT USAGE ON SCHEMA %I TO ${APP_ROLE}', current_schema()); END $$`);
  await tx.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ${APP_TABLES.join(', ')} TO ${APP_ROLE}`);
}
