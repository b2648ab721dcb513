/* @license Enterprise */
import {
  APP_ROLE,
  MEMORY_MIGRATIONS,
  openPostgresMemoryDatabase,
  withSchemaLock,
  type SqlExecutor,
  type SqlInstrumentation,
} from '@engram/memory-postgres';
import {
  AUDIT_EVENTS_FORBIDDEN_PRIVILEGES,
  AUDIT_TABLE_PRIVILEGES,
  CLOUD_MIGRATIONS,
  CONTROL_TABLES,
  TENANT_TABLES,
  USAGE_TABLES,
} from '../migrations/cloud-migrations.js';
import { CloudDatabaseException, CloudDatabaseExceptionCode } from './cloud-database.exception.js';
import { TenantSqlExecutor } from './tenant-sql.executor.js';

export interface CloudDatabaseOptions {
  /** The owner connection (DATABASE_URL): migrations, indexes, the app role. Required: the cloud has no embedded mode. */
  databaseUrl: string;
  /** A restricted connection for request traffic (DATABASE_APP_URL). Absent: the owner's URL as role engram_app. */
  databaseAppUrl?: string;
  /** The configured embedder's dimension: its HNSW index is created at boot. */
  embedderDimensions: number;
  /** Pool size of the request connection. */
  poolSize?: number;
  /** Spans and pool metrics of the request pool (the telemetry's, when it is loaded). */
  instrumentation?: SqlInstrumentation;
  /** VECTOR_INDEX (PostgresMemoryOptions.vectorIndex). */
  vectorIndex?: 'hnsw' | 'none';
}

/** The cloud edition's database, migrated and ready for request traffic. */
export interface CloudDatabase {
  /** Tenant tables: every statement runs for the tenant of `withTenant`, under row-level security. */
  appSql: TenantSqlExecutor;
  /**
   * Control-plane tables (tenants, api_keys), which are looked up before a tenant is known. The same pool as
   * `appSql`, without a tenant: it sees no memory at all.
   */
  controlSql: SqlExecutor;
  /** The embedding dimensions that have an HNSW index. */
  hnswDimensions: number[];
  /** Ends the pool both executors share (closing the memory provider built on `appSql` ends it too). */
  close(): Promise<void>;
}

/** What request traffic does to every table it uses: no DDL, and no table of the migrations' bookkeeping. */
const REQUEST_PRIVILEGES = ['SELECT', 'INSERT', 'UPDATE', 'DELETE'] as const;

/**
 * Opens the cloud edition's database, in the order its parts depend on one another:
 *
 * 1. over one short-lived owner connection: the core's migrations, then the cloud's (they alter the core's tables),
 *    the embedder's vector index, and, unless DATABASE_APP_URL is given, the app role with its grants. The role is
 *    created only after the migrations (ensureAppRole grants on the core tables, which must exist), so the grants on
 *    the cloud tables come last, here, rather than in a migration that would name a role that may not exist yet;
 * 2. the request pool, as engram_app (or DATABASE_APP_URL), checked before first use: a role that bypasses
 *    row-level security, or owns the tables, would make the tenant isolation of the database silently void, so the
 *    edition refuses to start on one.
 */
export async function openCloudDatabase(options: CloudDatabaseOptions): Promise<CloudDatabase> {
  if (!options.databaseUrl) {
    throw new CloudDatabaseException(
      CloudDatabaseExceptionCode.SERVER_DATABASE_REQUIRED,
      'the cloud edition needs a PostgreSQL server: set DATABASE_URL',
    );
  }
  const { sql: pool, hnswDimensions } = await openPostgresMemoryDatabase({
    databaseUrl: options.databaseUrl,
    databaseAppUrl: options.databaseAppUrl,
    embedderDimensions: options.embedderDimensions,
    vectorIndex: options.vectorIndex,
    poolSize: options.poolSize,
    instrumentation: options.instrumentation,
    // The cloud's migrations alter the core's tables, so they run after them, in one ordered list.
    migrations: [...MEMORY_MIGRATIONS, ...CLOUD_MIGRATIONS],
    grantAppRole: grantControlTables,
  });
  try {
    await assertRequestRoleRestricted(pool);
    await assertAuditAppendOnly(pool);
  } catch (error) {
    await pool.close();
    throw error;
  }
  return { appSql: new TenantSqlExecutor(pool), controlSql: pool, hnswDimensions, close: () => pool.close() };
}

/** Idempotent, under the schema lock like every boot-time schema change (concurrent GRANTs collide otherwise). */
async function grantControlTables(owner: SqlExecutor): Promise<void> {
  const tables = [...CONTROL_TABLES, ...USAGE_TABLES].join(', ');
  await withSchemaLock(owner, (tx) => tx.query(`GRANT ${REQUEST_PRIVILEGES.join(', ')} ON ${tables} TO ${APP_ROLE}`));
  await withSchemaLock(owner, grantAuditTables);
}

/**
 * The audit tables get exactly their own privileges; UPDATE, DELETE and TRUNCATE on `audit_events` are revoked
 * outright, so that a grant made by hand (GRANT ALL ...) does not survive the next boot.
 */
async function grantAuditTables(tx: SqlExecutor): Promise<void> {
  for (const [table, privileges] of Object.entries(AUDIT_TABLE_PRIVILEGES)) {
    await tx.query(`GRANT ${privileges.join(', ')} ON ${table} TO ${APP_ROLE}`);
  }
  await tx.query(`REVOKE ${AUDIT_EVENTS_FORBIDDEN_PRIVILEGES.join(', ')} ON audit_events FROM ${APP_ROLE}`);
}

/**
 * Request traffic can add audit events and read them, and nothing else: a role that may change or remove one (a
 * DATABASE_APP_URL role granted ALL, say) would make the log's append-only promise void, so the edition refuses it,
 * as it refuses a role that row-level security does not hold.
 */
async function assertAuditAppendOnly(sql: SqlExecutor): Promise<void> {
  const required = Object.entries(AUDIT_TABLE_PRIVILEGES).flatMap(([table, privileges]) =>
    privileges.map((privilege) => `${table}:${privilege}`),
  );
  const [row] = await sql.query<{ role: string; missing: string[]; excess: string[] }>(
    `SELECT current_user::text AS role,
        ARRAY(SELECT r FROM unnest($1::text[]) r
               WHERE NOT has_table_privilege(current_user, split_part(r, ':', 1)::regclass, split_part(r, ':', 2)))
          AS missing,
        ARRAY(SELECT p FROM unnest($2::text[]) p WHERE has_table_privilege(current_user, 'audit_events', p)) AS excess`,
    [required, AUDIT_EVENTS_FORBIDDEN_PRIVILEGES],
  );
  if (!row) throw new Error('the request role could not be read');
  if (row.excess.length > 0) {
    throw new CloudDatabaseException(
      CloudDatabaseExceptionCode.REQUEST_ROLE_NOT_RESTRICTED,
      `request traffic runs as ${row.role}, which may ${row.excess.join(', ')} audit_events: the audit log is ` +
        `append-only; revoke ${AUDIT_EVENTS_FORBIDDEN_PRIVILEGES.join(', ')} on audit_events from it`,
      { role: row.role, auditEvents: row.excess },
    );
  }
  if (row.missing.length > 0) {
    throw new CloudDatabaseException(
      CloudDatabaseExceptionCode.REQUEST_ROLE_MISSING_PRIVILEGE,
      `request traffic runs as ${row.role}, which lacks ${row.missing.join(', ')}: grant ` +
        Object.entries(AUDIT_TABLE_PRIVILEGES)
          .map(([table, privileges]) => `${privileges.join(', ')} on ${table}`)
          .join('; '),
      { role: row.role, missing: row.missing },
    );
  }
}

interface RequestRoleRow {
  role: string;
  rolsuper: boolean;
  rolbypassrls: boolean;
  owned: string[];
  missing: string[];
}

/**
 * Row-level security holds request traffic only if its role is no superuser, has no BYPASSRLS and owns no tenant
 * table (an owner could switch the policies off). The privileges are checked too, so that a DATABASE_APP_URL role
 * granted too little fails here, by name, rather than on some request later.
 */
async function assertRequestRoleRestricted(sql: SqlExecutor): Promise<void> {
  const tables = [...TENANT_TABLES, ...CONTROL_TABLES, ...USAGE_TABLES];
  const [row] = await sql.query<RequestRoleRow>(
    `SELECT current_user::text AS role, r.rolsuper, r.rolbypassrls,
        ARRAY(SELECT c.relname::text FROM pg_class c
               WHERE c.relnamespace = current_schema()::regnamespace AND c.relname = ANY($1::text[])
                 AND pg_has_role(current_user, c.relowner, 'USAGE')) AS owned,
        ARRAY(SELECT t || ':' || p FROM unnest($1::text[]) t, unnest($2::text[]) p
               WHERE NOT has_table_privilege(current_user, t::regclass, p)) AS missing
       FROM pg_roles r WHERE r.rolname = current_user`,
    [tables, REQUEST_PRIVILEGES],
  );
  if (!row) throw new Error('the request role could not be read from pg_roles');
  if (row.rolsuper || row.rolbypassrls || row.owned.length > 0) {
    throw new CloudDatabaseException(
      CloudDatabaseExceptionCode.REQUEST_ROLE_NOT_RESTRICTED,
      `request traffic runs as ${row.role}, which row-level security does not hold (superuser, BYPASSRLS or owner of ` +
        `the tables): tenant isolation needs a restricted role; unset DATABASE_APP_URL or point it at one`,
      { role: row.role, superuser: row.rolsuper, bypassRls: row.rolbypassrls, owns: row.owned },
    );
  }
  if (row.missing.length > 0) {
    throw new CloudDatabaseException(
      CloudDatabaseExceptionCode.REQUEST_ROLE_MISSING_PRIVILEGE,
      `request traffic runs as ${row.role}, which lacks ${row.missing.join(', ')}: grant ` +
        `${REQUEST_PRIVILEGES.join(', ')} on ${tables.join(', ')}`,
      { role: row.role, missing: row.missing },
    );
  }
}
