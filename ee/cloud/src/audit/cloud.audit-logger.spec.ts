/* @license Enterprise */
import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { asTenantId, runInRequestContext, type AuditEvent, type TenantId } from '@engram/memory-core';
import { GENESIS_HASH, chainEvents, type AuditRecord, type UnchainedAuditRecord } from './audit-chain.js';
import { runWithAuditOrigin } from './audit-origin.js';
import type { AuditRepository } from './audit.repository.js';
import { CloudAuditLogger, type CloudAuditLoggerOptions } from './cloud.audit-logger.js';

const A = asTenantId('0195a8b0-0000-7000-8000-00000000000a');
const B = asTenantId('0195a8b0-0000-7000-8000-00000000000b');
const clock = { now: () => new Date('2026-01-01T00:00:00.000Z') };

/** An in-memory AuditRepository: records every append; `failNext` makes appends reject. */
class FakeAuditRepository {
  readonly appends: { tenantId: TenantId; events: UnchainedAuditRecord[] }[] = [];
  readonly chains = new Map<TenantId, AuditRecord[]>();
  failNext = 0;
  gate: Promise<void> | null = null;

  async append(tenantId: TenantId, events: readonly UnchainedAuditRecord[]): Promise<AuditRecord[]> {
    if (this.gate) await this.gate;
    if (this.failNext > 0) {
      this.failNext -= 1;
      throw new Error('database away');
    }
    this.appends.push({ tenantId, events: [...events] });
    const chain = this.chains.get(tenantId) ?? [];
    const last = chain[chain.length - 1];
    const records = chainEvents(last ? { seq: last.seq, hash: last.hash } : { seq: 0, hash: GENESIS_HASH }, events);
    this.chains.set(tenantId, [...chain, ...records]);
    return records;
  }

  actions(tenantId: TenantId): string[] {
    return (this.chains.get(tenantId) ?? []).map((record) => record.action);
  }
}

function newTestLogger(options: CloudAuditLoggerOptions = {}) {
  const repository = new FakeAuditRepository();
  const sut = new CloudAuditLogger(repository as unknown as AuditRepository, clock, { flushDelayMs: 5, ...options });
  loggers.push(sut);
  return { sut, repository };
}

const loggers: CloudAuditLogger[] = [];
// The failures below are on purpose: their warnings would only clutter the run's output.
beforeAll(() => Logger.overrideLogger(false));
afterEach(async () => {
  for (const logger of loggers.splice(0)) await logger.stop();
});

const event = (tenantId: TenantId, action: string, overrides: Partial<AuditEvent> = {}): AuditEvent => ({
  tenantId,
  actor: 'system',
  action,
  targetIds: [],
  outcome: 'success',
  ...overrides,
});

describe('CloudAuditLogger', () => {
  it('answers log() before anything is written, and writes a burst in one batch', async () => {
    const { sut, repository } = newTestLogger();
    for (let i = 0; i < 50; i += 1) await sut.log(event(A, `a.${i}`));
    expect(repository.appends).toHaveLength(0);
    expect(sut.pendingEvents()).toBe(50);
    await sut.flush();
    expect(repository.appends).toHaveLength(1);
    expect(repository.actions(A)).toEqual(Array.from({ length: 50 }, (_, i) => `a.${i}`));
    expect(sut.pendingEvents()).toBe(0);
  });

  it('writes by itself after the batching window', async () => {
    const { sut, repository } = newTestLogger({ flushDelayMs: 5 });
    await sut.log(event(A, 'one'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(repository.actions(A)).toEqual(['one']);
    expect(sut.pendingEvents()).toBe(0);
  });

  it('splits large bursts into batches of batchSize, in order', async () => {
    const { sut, repository } = newTestLogger({ batchSize: 10, flushDelayMs: 1_000 });
    for (let i = 0; i < 35; i += 1) await sut.log(event(A, `a.${i}`));
    await sut.flush(A);
    expect(repository.appends.map((append) => append.events.length)).toEqual([10, 10, 10, 5]);
    expect(repository.actions(A)).toEqual(Array.from({ length: 35 }, (_, i) => `a.${i}`));
  });

  it('keeps tenants apart: each gets its own chain and batches', async () => {
    const { sut, repository } = newTestLogger();
    await sut.log(event(A, 'a1'));
    await sut.log(event(B, 'b1'));
    await sut.log(event(A, 'a2'));
    await sut.flush(B);
    expect(repository.actions(B)).toEqual(['b1']);
    await sut.flush();
    expect(repository.actions(A)).toEqual(['a1', 'a2']);
    expect(repository.appends.every((append) => append.events.every((e) => e.tenantId === append.tenantId))).toBe(true);
  });

  it('logDurably resolves once the event is written, with its id', async () => {
    const { sut, repository } = newTestLogger({ flushDelayMs: 10_000 });
    const ref = await sut.logDurably(event(A, 'gdpr.erase_subject'));
    expect(repository.chains.get(A)?.map((record) => record.id)).toEqual([ref.id]);
  });

  it('keeps events through a failed write, in order, and rejects the flush waiting on it', async () => {
    const { sut, repository } = newTestLogger({ retryDelayMs: 5 });
    await sut.log(event(A, 'first'));
    repository.failNext = 1;
    await expect(sut.flush(A)).rejects.toThrow('database away');
    await sut.log(event(A, 'second'));
    await sut.flush(A);
    expect(repository.actions(A)).toEqual(['first', 'second']);
  });

  it('retries by itself after a failed background write', async () => {
    const { sut, repository } = newTestLogger({ retryDelayMs: 20, flushDelayMs: 1 });
    repository.failNext = 1;
    await sut.log(event(A, 'kept'));
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(repository.actions(A)).toEqual(['kept']);
  });

  it('makes callers wait for the writer beyond maxPending (back-pressure, never a drop)', async () => {
    const { sut, repository } = newTestLogger({ maxPending: 3, flushDelayMs: 10_000 });
    let open!: () => void;
    repository.gate = new Promise<void>((resolve) => (open = resolve));
    await sut.log(event(A, 'e1'));
    await sut.log(event(A, 'e2'));
    let third = false;
    const waiting = sut.log(event(A, 'e3')).then(() => (third = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(third).toBe(false);
    repository.gate = null;
    open();
    await waiting;
    expect(repository.actions(A)).toEqual(['e1', 'e2', 'e3']);
  });

  it('stamps the actor, request id and source IP of the request being served', async () => {
    const { sut, repository } = newTestLogger();
    await runWithAuditOrigin({ requestId: 'req-1', sourceIp: '203.0.113.7' }, () =>
      runInRequestContext(
        {
          requestId: 'req-1',
          principal: { kind: 'tenant', tenantId: A, scopes: new Set(), keyId: 'abcdef0123456789' },
        },
        () => sut.log(event(A, 'memory.add', { actor: 'api' })),
      ),
    );
    await runInRequestContext({ principal: { kind: 'operator' } }, () => sut.log(event(A, 'tenant.create')));
    await runWithAuditOrigin({ requestId: 'req-2', sourceIp: '198.51.100.1' }, () =>
      sut.log(event(A, 'auth.invalid_secret', { actor: 'fedcba9876543210', outcome: 'failure' })),
    );
    await sut.log(event(A, 'gdpr.erase_subject'));
    await sut.flush();
    expect(
      repository.chains
        .get(A)
        ?.map(({ actor, requestId, sourceIp, outcome }) => ({ actor, requestId, sourceIp, outcome })),
    ).toEqual([
      { actor: 'abcdef0123456789', requestId: 'req-1', sourceIp: '203.0.113.7', outcome: 'success' },
      { actor: 'operator', requestId: null, sourceIp: null, outcome: 'success' },
      { actor: 'fedcba9876543210', requestId: 'req-2', sourceIp: '198.51.100.1', outcome: 'failure' },
      { actor: 'system', requestId: null, sourceIp: null, outcome: 'success' },
    ]);
  });

  it('cleans what the database or the hash could not take as logged, and drops events without a tenant', async () => {
    const { sut, repository } = newTestLogger();
    await sut.log(event(A, 'a\u0000b', { targetIds: ['x'.repeat(500), '\uD800'] }));
    await sut.log(event('not-a-tenant' as TenantId, 'lost'));
    await sut.flush();
    const [record] = repository.chains.get(A) ?? [];
    expect(record.action).toBe('ab');
    expect(record.targetIds).toEqual(['x'.repeat(200), '\uFFFD']);
    expect(repository.appends).toHaveLength(1);
    await expect(sut.logDurably(event('not-a-tenant' as TenantId, 'lost'))).rejects.toThrow('uuid');
  });

  it('writes what is left when stopped', async () => {
    const { sut, repository } = newTestLogger({ flushDelayMs: 10_000 });
    await sut.log(event(A, 'last words'));
    await sut.stop();
    expect(repository.actions(A)).toEqual(['last words']);
  });
});
