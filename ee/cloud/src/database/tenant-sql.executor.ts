/* @license Enterprise */
import { AsyncLocalStorage } from 'node:async_hooks';
import { MemoryException, type TenantId } from '@engram/memory-core';
import type { QueryOptions, SqlExecutor, SqlExecutorKind, SqlRow } from '@engram/memory-postgres';

/** The setting the row-level security policies compare each row's tenant with (see the TenantRowLevelSecurity migration). */
export const TENANT_SETTING = 'app.tenant_id';

/**
 * `set_config(..., true)` is SET LOCAL: it ends with the transaction, so a pooled connection never carries a tenant
 * into the next caller's statements. (SET LOCAL itself cannot take a bind parameter, set_config can.)
 */
const SET_TENANT = `SELECT set_config('${TENANT_SETTING}', $1, true)`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Runs work on behalf of one tenant: what the cloud memory provider needs of the database. */
export interface TenantRunner {
  withTenant<T>(tenantId: TenantId, fn: () => Promise<T>): Promise<T>;
}

/**
 * A SqlExecutor that tells the database which tenant every statement is for, so that row-level security applies.
 *
 * Inside `withTenant(tenant, fn)`, every `query` and every `transaction` of `fn` (however deep in its async calls:
 * the tenant travels in an AsyncLocalStorage, so concurrent requests of different tenants never mix) runs in a
 * transaction that first sets `app.tenant_id`. A lone statement therefore costs a BEGIN and a COMMIT more; that is
 * the price of the setting being transaction-local, which is what keeps it from leaking across pooled connections.
 *
 * Outside `withTenant` nothing is set, and the policies show nothing and accept no write: code that forgets the
 * tenant fails closed. `transaction` on the executor handed to a transaction's callback joins that transaction
 * (the inner executors already behave so), tenant and all.
 */
export class TenantSqlExecutor implements SqlExecutor, TenantRunner {
  readonly kind: SqlExecutorKind;
  private readonly tenant = new AsyncLocalStorage<TenantId>();

  constructor(private readonly inner: SqlExecutor) {
    this.kind = inner.kind;
  }

  /** Runs `fn` with every statement it issues through this executor on behalf of `tenantId`. */
  withTenant<T>(tenantId: TenantId, fn: () => Promise<T>): Promise<T> {
    return this.tenant.run(tenantId, fn);
  }

  /** The tenant statements are issued for right now; undefined outside `withTenant`. */
  currentTenant(): TenantId | undefined {
    return this.tenant.getStore();
  }

  query<T extends object = SqlRow>(
    text: string,
    params: readonly unknown[] = [],
    options?: QueryOptions,
  ): Promise<T[]> {
    if (this.tenant.getStore() === undefined) return this.inner.query<T>(text, params, options);
    return this.transaction((tx) => tx.query<T>(text, params, options));
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const tenantId = this.tenant.getStore();
    if (tenantId === undefined) return this.inner.transaction(fn);
    // The policy casts the setting to uuid: anything else would fail every statement with a bare cast error.
    if (!UUID.test(tenantId)) throw MemoryException.validation('the tenant id must be a uuid', { tenantId });
    return this.inner.transaction(async (tx) => {
      await tx.query(SET_TENANT, [tenantId]);
      return fn(tx);
    });
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
