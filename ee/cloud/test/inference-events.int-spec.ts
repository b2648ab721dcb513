/* @license Enterprise */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { newInferenceEvent, PostgresInferenceEventStore, type InferenceEvent } from '@engram/inference';
import { newId, systemClock, type AuditLogger, type TenantId } from '@engram/memory-core';
import { InProcessEmbeddingQueue } from '@engram/queue';
import { describeInferenceEventStoreContract } from '../../../libs/inference/test/inference-event-store.contract.js';
import type { TenantSqlExecutor } from '../src/database/tenant-sql.executor.js';
import { EmbeddingCachePurger } from '../src/gdpr/embedding-cache.purger.js';
import { erasureAuditTrail } from '../src/gdpr/erasure-audit.js';
import { ErasureRepository } from '../src/gdpr/erasure.repository.js';
import { CloudGdprService } from '../src/gdpr/gdpr.service.js';
import { TenantRepository } from '../src/tenants/tenant.repository.js';
import { embedder, openCloudTestDatabase, type CloudTestDatabase } from './fixtures/cloud-test-database.js';

/** The store as the cloud edition binds it: on the tenant-setting executor, each call as the event's tenant. */
function cloudStore(db: CloudTestDatabase): PostgresInferenceEventStore {
  const { appSql, controlSql } = db.database;
  const tenants = new TenantRepository(controlSql);
  return new PostgresInferenceEventStore(appSql, {
    forTenant: (tenantId, fn) => appSql.withTenant(tenantId, fn),
    tenantIds: () => tenants.liveTenantIds(),
  });
}

describeInferenceEventStoreContract('the cloud, under row-level security', async () => {
  const db = await openCloudTestDatabase();
  const [a, b] = await db.createTenants(2);
  return { store: cloudStore(db), tenants: [a!, b!], teardown: () => db.teardown() };
});

describe('inference events in the cloud', () => {
  let db: CloudTestDatabase;
  let appSql: TenantSqlExecutor;
  let tenantA: TenantId;
  let tenantB: TenantId;

  beforeAll(async () => {
    db = await openCloudTestDatabase();
    appSql = db.database.appSql;
    [tenantA, tenantB] = (await db.createTenants(2)) as [TenantId, TenantId];
  });
  afterAll(() => db.teardown());

  const event = (tenantId: TenantId, userId: string): InferenceEvent =>
    newInferenceEvent(newId(), { tenantId, userId }, 'rules', new Date());

  it("should not let one tenant read, change or delete another tenant's event, even by naming it", async () => {
    const store = cloudStore(db);
    const theirs = event(tenantB, 'mallory');
    await store.create(theirs);
    // Every statement names tenant B, but runs as tenant A: only row-level security stands in the way.
    const asA = new PostgresInferenceEventStore(appSql, {
      forTenant: (_tenantId, fn) => appSql.withTenant(tenantA, fn),
      tenantIds: () => Promise.resolve([tenantB]),
    });
    expect(await asA.get(tenantB, theirs.id)).toBeNull();
    await asA.update(tenantB, theirs.id, { status: 'failed', error: 'hijacked', updatedAt: new Date() });
    expect(await asA.deleteByUser(tenantB, 'mallory')).toBe(0);
    expect(await asA.unfinished(new Date(Date.now() + 60_000), 100)).toEqual([]);
    await expect(asA.create(event(tenantB, 'mallory'))).rejects.toMatchObject({ code: '42501' });
    expect(await store.get(tenantB, theirs.id)).toEqual(theirs);
    // Outside any tenant nothing at all is visible.
    expect(await appSql.query('SELECT 1 FROM inference_events')).toEqual([]);
  });

  it("should delete a subject's events with the GDPR erase, and no one else's", async () => {
    const store = cloudStore(db);
    const subject = `subject-${newId()}`;
    const theirs = [event(tenantA, subject), event(tenantA, subject)];
    const kept = [event(tenantA, 'someone-else'), event(tenantB, subject)];
    for (const e of [...theirs, ...kept]) await store.create(e);

    const gdpr = new CloudGdprService(
      new ErasureRepository(db.database.controlSql, appSql),
      new TenantRepository(db.database.controlSql),
      new InProcessEmbeddingQueue(),
      new EmbeddingCachePurger(embedder),
      [],
      erasureAuditTrail(new NullAuditLogger()),
      systemClock,
    );
    await gdpr.eraseSubject(tenantA, subject);

    for (const e of theirs) expect(await store.get(tenantA, e.id)).toBeNull();
    expect(await store.get(tenantA, kept[0]!.id)).toEqual(kept[0]);
    expect(await store.get(tenantB, kept[1]!.id)).toEqual(kept[1]);
    const [row] = await db.owner.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM inference_events WHERE tenant_id = $1 AND user_id = $2`,
      [tenantA, subject],
    );
    expect(row?.n).toBe(0);
  });
});

/** The erase's audit trail, as far as it is used here: events accepted, with ids. */
class NullAuditLogger implements AuditLogger {
  log(): Promise<void> {
    return Promise.resolve();
  }
  logDurably(): Promise<{ id: string }> {
    return Promise.resolve({ id: newId() });
  }
}
