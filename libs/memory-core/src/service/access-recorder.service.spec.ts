import { describe, expect, it } from '@jest/globals';
import { currentRequestContext, runInRequestContext, type RequestContext } from '../auth/request-context.js';
import { LocalMemoryProvider } from '../local/local.memory-provider.js';
import type { MemoryAccess } from '../memory.js';
import type { MemoryScope } from '../memory-scope.js';
import { OSS_TENANT_ID, asTenantId } from '../tenant.js';
import { AccessRecorder } from './access-recorder.service.js';

/** The reference provider, counting its writes, whose database can be made unreachable. */
class CountingProvider extends LocalMemoryProvider {
  writes: MemoryAccess[][] = [];
  contexts: Array<RequestContext | undefined> = [];
  down = false;
  override async recordAccess(scope: MemoryScope, accesses: readonly MemoryAccess[]): Promise<void> {
    if (this.down) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
    this.writes.push([...accesses]);
    this.contexts.push(currentRequestContext());
    return super.recordAccess(scope, accesses);
  }
}

const scope = { tenantId: OSS_TENANT_ID, userId: 'reader' };

describe('AccessRecorder', () => {
  it('writes nothing until it flushes, then each memory once with all its accesses and the latest time', async () => {
    const provider = new CountingProvider();
    const [a, b] = await provider.addMany(scope, [{ content: 'a' }, { content: 'b' }]);
    const recorder = new AccessRecorder(provider);
    const early = new Date('2026-01-01T00:00:00Z');
    const late = new Date('2026-01-01T00:00:05Z');

    recorder.record(scope, [a.id, b.id], late);
    recorder.record(scope, [a.id], early);
    recorder.record(scope, [a.id], early);
    expect(provider.writes).toHaveLength(0);
    expect(recorder.pending(scope, a.id)).toBe(3);
    expect(await provider.get(scope, a.id)).toMatchObject({ accessCount: 0 });

    await recorder.flush();
    expect(provider.writes).toHaveLength(1);
    expect(provider.writes[0]).toHaveLength(2);
    expect(await provider.get(scope, a.id)).toMatchObject({ accessCount: 3, accessedAt: late });
    expect(await provider.get(scope, b.id)).toMatchObject({ accessCount: 1, accessedAt: late });
    expect(recorder.pending(scope, a.id)).toBe(0);
  });

  it('should not write an access seen through another user to a memory outside that scope', async () => {
    const provider = new CountingProvider();
    const mine = await provider.add(scope, { content: 'mine' });
    const recorder = new AccessRecorder(provider);
    recorder.record({ tenantId: OSS_TENANT_ID, userId: 'intruder' }, [mine.id], new Date());
    await recorder.flush();
    expect(await provider.get(scope, mine.id)).toMatchObject({ accessCount: 0, accessedAt: null });
  });

  it('should not report the pending accesses of a memory to another tenant', async () => {
    const provider = new CountingProvider();
    const mine = await provider.add(scope, { content: 'mine' });
    const recorder = new AccessRecorder(provider);
    recorder.record(scope, [mine.id], new Date());
    expect(recorder.pending({ tenantId: OSS_TENANT_ID }, mine.id)).toBe(1);
    expect(
      recorder.pending({ tenantId: asTenantId('7f2c1a52-3a7e-4c53-9a55-3c1f0f1d2e3b'), userId: 'reader' }, mine.id),
    ).toBe(0);
  });

  it('keeps the accesses of a failed flush for the next one', async () => {
    const provider = new CountingProvider();
    const memory = await provider.add(scope, { content: 'kept' });
    const recorder = new AccessRecorder(provider);
    recorder.record(scope, [memory.id], new Date());
    provider.down = true;
    await recorder.flush();
    recorder.record(scope, [memory.id], new Date());
    provider.down = false;
    await recorder.flush();
    expect(await provider.get(scope, memory.id)).toMatchObject({ accessCount: 2 });
  });

  it('writes what is left when it stops', async () => {
    const provider = new CountingProvider();
    const memory = await provider.add(scope, { content: 'last words' });
    const recorder = new AccessRecorder(provider);
    recorder.start(60_000);
    recorder.record(scope, [memory.id], new Date());
    await recorder.stop();
    expect(await provider.get(scope, memory.id)).toMatchObject({ accessCount: 1 });
  });

  it('flushes on its timer', async () => {
    const provider = new CountingProvider();
    const memory = await provider.add(scope, { content: 'ticked' });
    const recorder = new AccessRecorder(provider);
    recorder.start(20);
    recorder.record(scope, [memory.id], new Date());
    for (let i = 0; i < 100 && provider.writes.length === 0; i++)
      await new Promise((resolve) => setTimeout(resolve, 10));
    await recorder.stop();
    expect(await provider.get(scope, memory.id)).toMatchObject({ accessCount: 1 });
    expect(provider.writes).toHaveLength(1);
  });

  it('writes a batch outside the request that filled it, whoever else is in it', async () => {
    const provider = new CountingProvider();
    const memory = await provider.add(scope, { content: 'batched' });
    const recorder = new AccessRecorder(provider);
    const request: RequestContext = {
      requestId: 'r1',
      principal: { kind: 'tenant', tenantId: OSS_TENANT_ID, scopes: new Set() },
    };
    await runInRequestContext(request, async () => {
      recorder.record(scope, [memory.id], new Date());
      await recorder.flush();
    });
    expect(provider.contexts).toEqual([undefined]);
    expect(await provider.get(scope, memory.id)).toMatchObject({ accessCount: 1 });
  });
});
