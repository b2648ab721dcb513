/* @license Enterprise */
import type { SqlMigration } from '@engram/memory-postgres';
import { CreateTenantTables1795441200000 } from './1795441200000-CreateTenantTables.js';
import { TenantRowLevelSecurity1795441260000 } from './1795441260000-TenantRowLevelSecurity.js';
import { CreateTenantUsage1795441920000 } from './1795441920000-CreateTenantUsage.js';
import { CreateGdprErasures1795442400000 } from './1795442400000-CreateGdprErasures.js';
import { CreateAuditEvents1795442700000 } from './1795442700000-CreateAuditEvents.js';
import { InferenceEventsRowLevelSecurity1795443060000 } from './1795443060000-InferenceEventsRowLevelSecurity.js';
import { ApiKeySigningSecrets1795445400000 } from './1795445400000-ApiKeySigningSecrets.js';
import { MemoryScopeVersionsRowLevelSecurity1795446060000 } from './1795446060000-MemoryScopeVersionsRowLevelSecurity.js';

/**
 * The cloud edition's migrations, oldest first, run after the core's (they alter the core's tables) by
 * `openCloudDatabase`, and only there: an OSS deployment never gets them. They share the core's `migrations`
 * table. Append only: a released migration is never edited.
 */
export const CLOUD_MIGRATIONS: readonly SqlMigration[] = [
  new CreateTenantTables1795441200000(),
  new TenantRowLevelSecurity1795441260000(),
  new CreateTenantUsage1795441920000(),
  new CreateGdprErasures1795442400000(),
  new CreateAuditEvents1795442700000(),
  new InferenceEventsRowLevelSecurity1795443060000(),
  new ApiKeySigningSecrets1795445400000(),
  new MemoryScopeVersionsRowLevelSecurity1795446060000(),
];

/** The core tables the cloud puts under row-level security: every table whose rows belong to a tenant. */
export const TENANT_TABLES = ['memories', 'memory_history', 'inference_events', 'memory_scope_versions'] as const;

/** The cloud's own tables, read and written by request traffic (the control plane, not under row-level security). */
export const CONTROL_TABLES = ['tenants', 'api_keys', 'gdpr_erasures', 'gdpr_erasure_keys'] as const;

/** The cloud's own tenant tables (under row-level security, like TENANT_TABLES): the usage snapshots. */
export const USAGE_TABLES = ['tenant_usage'] as const;

/**
 * The audit log's tables (under row-level security, like TENANT_TABLES), with what request traffic may do to each:
 * events can be added and read, never changed or removed; the chain heads are moved by the writer.
 */
export const AUDIT_TABLE_PRIVILEGES = {
  audit_events: ['SELECT', 'INSERT'],
  audit_chain_heads: ['SELECT', 'INSERT', 'UPDATE'],
} as const;

/** What request traffic must never be able to do to audit events (openCloudDatabase refuses a role that can). */
export const AUDIT_EVENTS_FORBIDDEN_PRIVILEGES = ['UPDATE', 'DELETE', 'TRUNCATE'] as const;
