/* @license Enterprise */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { newId, type Memory, type TenantId } from '@engram/memory-core';
import { describeMemoryProviderContract } from '@engram/memory-core/testing';
import { PostgresMemoryProvider } from '@engram/memory-postgres';
import { CloudMemoryProvider } from '../src/memory/cloud.memory-provider.js';
import {
  asRequestOf,
  embedder,
  liveTenants,
  openCloudTestDatabase,
  requestTenant,
  type CloudTestDatabase,
} from './fixtures/cloud-test-database.js';

function cloudProvider(db: CloudTestDatabase): CloudMemoryProvider {
  const { appSql, controlSql, hnswDimensions } = db.database;
  return new CloudMemoryProvider(new PostgresMemoryProvider(appSql, { hnswDimensions }), appSql, {
    currentTenant: requestTenant,
    tenantIds: () => liveTenants(controlSql),
  });
}

/**
 * The provider contract on the cloud stack as production builds it: row-level security switched on, request traffic
 * as engram_app, the Postgres provider on the tenant-setting executor, the application wall in front. The kit runs
 * outside any request (as the worker does), and its isolation part crosses tenants by scope, so it proves the
 * database path; tenant-wall.int-spec.ts covers calls made within a tenant's request.
 */
describeMemoryProviderContract('CloudMemoryProvider on PostgreSQL with row-level security', async () => {
  const db = await openCloudTestDatabase();
  // The kit's two tenants must be live tenants: listPending serves the tenants of `tenants`.
  const [first, second] = await db.createTenants(2);
  const provider = cloudProvider(db);
  return {
    provider,
    embedder,
    tenants: [first, second],
    teardown: async () => {
      await provider.close();
      await db.teardown();
    },
  };
});

describe('CloudMemoryProvider.listPending across tenants', () => {
  let db: CloudTestDatabase;
  let provider: CloudMemoryProvider;
  let backlogged: TenantId;
  let quiet: TenantId;
  let backlog: Memory[];
  let few: Memory[];
  const future = (): Date => new Date(Date.now() + 60_000);

  beforeAll(async () => {
    db = await openCloudTestDatabase();
    provider = cloudProvider(db);
    [backlogged, quiet] = await db.createTenants(3);
    backlog = [];
    for (let i = 0; i < 12; i += 1) {
      backlog.push(
        await provider.add({ tenantId: backlogged, userId: `user-${newId()}` }, { content: `backlog ${i}` }),
      );
    }
    few = await provider.addMany({ tenantId: quiet, userId: 'user' }, [{ content: 'one' }, { content: 'two' }]);
  });

  afterAll(async () => {
    await provider.close();
    await db.teardown();
  });

  const oldest = (memories: Memory[], n: number): string[] =>
    [...memories]
      .sort((a, b) => a.updatedAt.getTime() - b.updatedAt.getTime() || (a.id < b.id ? -1 : 1))
      .slice(0, n)
      .map((memory) => memory.id);

  it("should not let one tenant's backlog crowd another tenant out of the reconciler's page", async () => {
    // Three tenants, one empty: shares of 3; the quiet tenant uses 2, the empty one none, the backlog gets the rest.
    const jobs = await provider.listPending(future(), 9);
    expect(jobs).toHaveLength(9);
    const ids = jobs.map((job) => job.memoryId);
    expect(ids).toEqual(expect.arrayContaining(few.map((memory) => memory.id)));
    expect(jobs.filter((job) => job.tenantId === backlogged).map((job) => job.memoryId)).toEqual(oldest(backlog, 7));
  });

  it('should serve every tenant with pending work even when the page is smaller than the tenants', async () => {
    const jobs = await provider.listPending(future(), 2);
    expect(new Set(jobs.map((job) => job.tenantId))).toEqual(new Set([backlogged, quiet]));
  });

  it("should list only the request's tenant within a request", async () => {
    const jobs = await asRequestOf(quiet, () => provider.listPending(future(), 100));
    expect(jobs.map((job) => job.memoryId).sort()).toEqual(few.map((memory) => memory.id).sort());
  });
});
