import { describe, expect, it } from '@jest/globals';
import type { MemoryScope } from '../memory-scope.js';
import { OSS_TENANT_ID, asTenantId } from '../tenant.js';
import { SpeakerLabelCache } from './speaker-label.cache.js';

const user: MemoryScope = { tenantId: OSS_TENANT_ID, userId: 'caroline' };

/** A read that answers the scope's user id as its one label, and counts how often it ran. */
function counter() {
  const reads: MemoryScope[] = [];
  return {
    reads,
    read: (scope: MemoryScope) => async (): Promise<readonly string[]> => {
      reads.push(scope);
      return [String(scope.userId ?? scope.runId)];
    },
  };
}

describe('SpeakerLabelCache', () => {
  it('should read a scope once per time to live', async () => {
    const sut = new SpeakerLabelCache({ ttlMs: 1_000 });
    const { reads, read } = counter();
    expect(await sut.get(user, 0, read(user))).toEqual(['caroline']);
    expect(await sut.get(user, 999, read(user))).toEqual(['caroline']);
    expect(reads).toHaveLength(1);
    await sut.get(user, 1_000, read(user));
    expect(reads).toHaveLength(2);
  });

  it('should not answer a scope with the labels of another tenant, user or narrower scope', async () => {
    const sut = new SpeakerLabelCache();
    const { reads, read } = counter();
    const scopes: MemoryScope[] = [
      user,
      { ...user, tenantId: asTenantId('7d3c5e0a-4f1b-4c8e-9a2d-6b5f4e3c2a10') },
      { ...user, userId: 'melanie' },
      { ...user, runId: 'run-1' },
      { ...user, namespace: 'notes' },
    ];
    for (const scope of scopes) await sut.get(scope, 0, read(scope));
    expect(reads).toEqual(scopes);
  });

  it('should share one read between searches that miss at the same time', async () => {
    const sut = new SpeakerLabelCache();
    const { reads, read } = counter();
    const answers = await Promise.all([sut.get(user, 0, read(user)), sut.get(user, 0, read(user))]);
    expect(answers).toEqual([['caroline'], ['caroline']]);
    expect(reads).toHaveLength(1);
  });

  it('should not remember a read that failed', async () => {
    const sut = new SpeakerLabelCache();
    await expect(sut.get(user, 0, () => Promise.reject(new Error('database down')))).rejects.toThrow('database down');
    const { reads, read } = counter();
    expect(await sut.get(user, 1, read(user))).toEqual(['caroline']);
    expect(reads).toHaveLength(1);
  });

  it('should forget the least recently used scope first when full', async () => {
    const sut = new SpeakerLabelCache({ maxEntries: 2 });
    const { reads, read } = counter();
    const [a, b, c] = ['a', 'b', 'c'].map((userId): MemoryScope => ({ tenantId: OSS_TENANT_ID, userId }));
    await sut.get(a, 0, read(a));
    await sut.get(b, 0, read(b));
    await sut.get(a, 0, read(a)); // a is now the most recently used
    await sut.get(c, 0, read(c)); // evicts b
    await sut.get(a, 0, read(a));
    expect(reads).toEqual([a, b, c]);
    await sut.get(b, 0, read(b));
    expect(reads).toEqual([a, b, c, b]);
  });
});
