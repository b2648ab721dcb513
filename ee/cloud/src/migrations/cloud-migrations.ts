/* @license Enterprise */
import type { SqlMigration } from '@engram/memory-postgres';
import { CreateTenantTables1795441200000 } from './1795441200000-CreateTenantTables.js';
import { TenantRowLevelSecurity1795441260000 } from './1795441260000-TenantRowLevelSecurity.js';

/**
 * The cloud edition's migrations, oldest first, run after the core's (they alter the core's tables) by
 * `openCloudDatabase`, and only there: an OSS deployment never gets them. They share the core's `migrations`
 * table. Append only: a released migration is never edited.
 */
export const CLOUD_MIGRATIONS: readonly SqlMigration[] = [
  new CreateTenantTables1795441200000(),
  new TenantRowLevelSecurity1795441260000(),
];

/** The core tables the cloud puts under row-level security: every table whose rows belong to a tenant. */
export const TENANT_TABLES = ['memories', 'memory_history'] as const;

/** The cloud's own tables, read and written by request traffic (the control plane, not under row-level security). */
export const CONTROL_TABLES = ['tenants', 'api_keys'] as const;
