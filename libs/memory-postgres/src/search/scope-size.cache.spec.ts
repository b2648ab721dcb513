import { describe, expect, it, jest } from '@jest/globals';
import { OSS_TENANT_ID } from '@engram/memory-core';
import { ScopeSizeCache } from './scope-size.cache.js';

const alice = { tenantId: OSS_TENANT_ID, userId: 'alice' };
const bob = { tenantId: OSS_TENANT_ID, userId: 'bob' };

describe('ScopeSizeCache', () => {
  it('should count a scope once per ttl, and each scope apart', async () => {
    const sut = new ScopeSizeCache({ ttlMs: 1_000 });
    const count = jest.fn(async () => 42);

    expect(await sut.get(alice, 0, count)).toBe(42);
    expect(await sut.get(alice, 999, count)).toBe(42);
    expect(count).toHaveBeenCalledTimes(1);
    await sut.get(bob, 999, count);
    expect(count).toHaveBeenCalledTimes(2);
    await sut.get(alice, 1_000, count);
    expect(count).toHaveBeenCalledTimes(3);
  });

  it('should tell a narrower scope from a wider one', async () => {
    const sut = new ScopeSizeCache();
    await sut.get(alice, 0, async () => 1);
    expect(await sut.get({ ...alice, agentId: 'planner' }, 0, async () => 2)).toBe(2);
    expect(await sut.get({ ...alice, namespace: 'travel' }, 0, async () => 3)).toBe(3);
  });

  it('should forget the oldest scope when full', async () => {
    const sut = new ScopeSizeCache({ maxEntries: 2 });
    await sut.get(alice, 0, async () => 1);
    await sut.get(bob, 0, async () => 2);
    await sut.get({ tenantId: OSS_TENANT_ID, runId: 'r' }, 0, async () => 3);
    const recount = jest.fn(async () => 10);
    expect(await sut.get(bob, 0, recount)).toBe(2);
    expect(await sut.get(alice, 0, recount)).toBe(10);
  });
});
