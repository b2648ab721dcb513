import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { asTenantId, newId, type TenantId } from '@engram/memory-core';
import {
  newInferenceEvent,
  type InferenceEvent,
  type InferenceRequest,
  type InferenceEventStore,
  type InferenceOutcome,
} from '../src/inference-event.js';

export interface InferenceEventStoreFixture {
  store: InferenceEventStore;
  /** Two tenants the store knows (the cloud's, which exist in `tenants`); two new ids when absent. */
  tenants?: readonly [TenantId, TenantId];
  teardown(): Promise<void>;
}

const MINUTE = 60_000;

/**
 * What every InferenceEventStore must do, whatever keeps the events: the in-memory store, Postgres, PGlite, and the
 * cloud's store under row-level security. Timestamps are whole milliseconds (what timestamptz keeps).
 */
export function describeInferenceEventStoreContract(
  name: string,
  open: () => Promise<InferenceEventStoreFixture>,
): void {
  describe(`InferenceEventStore contract: ${name}`, () => {
    let fixture: InferenceEventStoreFixture;
    let store: InferenceEventStore;
    let tenantA: TenantId;
    let tenantB: TenantId;
    const t0 = new Date(Date.UTC(2031, 0, 1, 12, 0, 0, 123));

    beforeAll(async () => {
      fixture = await open();
      store = fixture.store;
      [tenantA, tenantB] = fixture.tenants ?? [asTenantId(newId()), asTenantId(newId())];
    });
    afterAll(() => fixture.teardown());

    const eventOf = (tenantId: TenantId, userId: string | undefined, at = t0): InferenceEvent =>
      newInferenceEvent(newId(), { tenantId, userId, agentId: 'agent-1', namespace: 'notes' }, 'rules', at);

    const outcome: InferenceOutcome = {
      op: 'UPDATE',
      memoryId: newId(),
      content: 'Lives in Berlin',
      previousContent: 'Lives in Paris',
      reason: 'the user moved',
    };

    it('should return an event as it was created', async () => {
      const event = eventOf(tenantA, 'alice');
      await store.create(event);
      expect(await store.get(tenantA, event.id)).toEqual(event);
    });

    it('should apply an update and keep what it does not name', async () => {
      const event = eventOf(tenantA, 'alice');
      await store.create(event);
      const running = new Date(t0.getTime() + 1000);
      await store.update(tenantA, event.id, { status: 'running', updatedAt: running });
      expect(await store.get(tenantA, event.id)).toEqual({ ...event, status: 'running', updatedAt: running });

      const done = new Date(t0.getTime() + 2000);
      await store.update(tenantA, event.id, { status: 'succeeded', outcomes: [outcome], error: 'x', updatedAt: done });
      await store.update(tenantA, event.id, { error: null, updatedAt: done });
      expect(await store.get(tenantA, event.id)).toEqual({
        ...event,
        status: 'succeeded',
        outcomes: [outcome],
        error: null,
        updatedAt: done,
      });
    });

    it('should find nothing for an unknown id, or an id that is no uuid', async () => {
      expect(await store.get(tenantA, newId())).toBeNull();
      expect(await store.get(tenantA, 'not-a-uuid')).toBeNull();
      await expect(store.update(tenantA, 'not-a-uuid', { status: 'failed', updatedAt: t0 })).resolves.toBeUndefined();
    });

    it('should not return or change an event of another tenant', async () => {
      const theirs = eventOf(tenantB, 'alice');
      await store.create(theirs);
      expect(await store.get(tenantA, theirs.id)).toBeNull();
      await store.update(tenantA, theirs.id, { status: 'failed', error: 'hijacked', updatedAt: t0 });
      expect(await store.deleteByUser(tenantA, 'alice')).toBeGreaterThanOrEqual(0);
      expect(await store.get(tenantB, theirs.id)).toEqual(theirs);
    });

    it("should delete a user's events of one tenant only", async () => {
      const bobs = [eventOf(tenantA, 'bob'), eventOf(tenantA, 'bob')];
      const carols = eventOf(tenantA, 'carol');
      const otherBob = eventOf(tenantB, 'bob');
      for (const event of [...bobs, carols, otherBob]) await store.create(event);

      expect(await store.deleteByUser(tenantA, 'bob')).toBe(2);
      expect(await store.deleteByUser(tenantA, 'bob')).toBe(0);
      for (const event of bobs) expect(await store.get(tenantA, event.id)).toBeNull();
      expect(await store.get(tenantA, carols.id)).toEqual(carols);
      expect(await store.get(tenantB, otherBob.id)).toEqual(otherBob);
    });

    it('should keep the request with its event until an update drops it', async () => {
      const event = eventOf(tenantA, 'erin');
      const request: InferenceRequest = {
        messages: [{ role: 'user', content: 'I live in Lisbon', name: 'erin' }],
        actor: 'api',
        defaults: { importance: 7, expiresAt: new Date(Date.UTC(2032, 0, 1)), metadata: { source: 'chat' } },
        wait: false,
        requestId: 'req-1',
        keyId: 'key-1',
      };
      await store.create(event, request);
      expect(await store.request(tenantA, event.id)).toEqual(request);
      expect(await store.request(tenantB, event.id)).toBeNull();

      await store.update(tenantA, event.id, { status: 'running', updatedAt: t0 });
      expect(await store.request(tenantA, event.id)).toEqual(request);
      await store.update(tenantA, event.id, { status: 'succeeded', updatedAt: t0, request: null });
      expect(await store.request(tenantA, event.id)).toBeNull();
      expect((await store.get(tenantA, event.id))?.status).toBe('succeeded');
    });

    it('should forget the request with the events of an erased user', async () => {
      const event = eventOf(tenantA, 'frank');
      await store.create(event, { messages: [{ role: 'user', content: 'secret' }], actor: 'api', wait: false });
      expect(await store.deleteByUser(tenantA, 'frank')).toBe(1);
      expect(await store.request(tenantA, event.id)).toBeNull();
    });

    it('should list the unfinished events unchanged since before the cut-off, of every tenant, and only those', async () => {
      const base = new Date(t0.getTime() + 10 * MINUTE);
      const request: InferenceRequest = { messages: [{ role: 'user', content: 'hi' }], actor: 'api', wait: false };
      const stale = { ...eventOf(tenantA, 'dave', new Date(base.getTime() - 20 * MINUTE)), status: 'running' as const };
      const stalePending = eventOf(tenantB, 'dave', new Date(base.getTime() - 20 * MINUTE));
      const recent = { ...eventOf(tenantA, 'dave', new Date(base.getTime() - MINUTE)), status: 'running' as const };
      const finished = {
        ...eventOf(tenantA, 'dave', new Date(base.getTime() - 20 * MINUTE)),
        status: 'succeeded' as const,
      };
      await store.create(stale, request);
      for (const event of [stalePending, recent, finished]) await store.create(event);

      const cutOff = new Date(base.getTime() - 10 * MINUTE);
      const found = await store.unfinished(cutOff, 1000);
      const ids = found.map((event) => event.id);
      expect(ids).toEqual(expect.arrayContaining([stale.id, stalePending.id]));
      expect(ids).not.toContain(recent.id);
      expect(ids).not.toContain(finished.id);
      expect(found.find((event) => event.id === stale.id)).toEqual({
        tenantId: tenantA,
        id: stale.id,
        userId: 'dave',
        resumable: true,
      });
      expect(found.find((event) => event.id === stalePending.id)?.resumable).toBe(false);
      expect(await store.unfinished(cutOff, 1)).toHaveLength(1);
    });
  });
}
