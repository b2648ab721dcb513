import { describe, expect, it } from '@jest/globals';
import { LocalMemoryProvider } from '../local/local.memory-provider.js';
import { OSS_TENANT_ID } from '../tenant.js';
import { ExpiredMemoryPurger } from './expired-memory-purger.service.js';

/** The reference provider, counting the purge batches it is asked for. */
class CountingProvider extends LocalMemoryProvider {
  batches: number[] = [];
  override async purgeExpired(before: Date, limit: number): Promise<number> {
    const purged = await super.purgeExpired(before, limit);
    this.batches.push(purged);
    return purged;
  }
}

const scope = { tenantId: OSS_TENANT_ID, userId: 'u' };
const at = (iso: string) => new Date(iso);

describe('ExpiredMemoryPurger', () => {
  it('purges in batches until none is left, and only what has expired', async () => {
    const provider = new CountingProvider({ clock: { now: () => at('2026-01-01T00:00:00Z') } });
    const expiring = Array.from({ length: 7 }, (_, i) => ({
      content: `expires ${i}`,
      expiresAt: at('2026-01-01T00:10:00Z'),
    }));
    const [kept] = await provider.addMany(scope, [
      { content: 'expires tomorrow', expiresAt: at('2026-01-02T00:00:00Z') },
      ...expiring,
    ]);
    const purger = new ExpiredMemoryPurger(provider, { now: () => at('2026-01-01T01:00:00Z') });

    expect(await purger.purge(at('2026-01-01T01:00:00Z'), 3)).toBe(7);
    expect(provider.batches).toEqual([3, 3, 1]);
    expect(await purger.purge(at('2026-01-01T01:00:00Z'), 3)).toBe(0);
    // Still there: a read at a time before its expiry finds it.
    expect(await provider.exists(scope, kept.id)).toBe(true);
  });

  it('runs a pass at start, and stop waits for it', async () => {
    const provider = new CountingProvider({ clock: { now: () => at('2026-01-01T00:00:00Z') } });
    await provider.addMany(scope, [
      { content: 'gone by the first pass', expiresAt: at('2026-01-01T00:00:01Z') },
      { content: 'also gone', expiresAt: at('2026-01-01T00:00:02Z') },
    ]);
    const purger = new ExpiredMemoryPurger(provider, { now: () => at('2026-01-01T00:05:00Z') });
    purger.start({ everyMs: 60_000 });
    await purger.stop();
    expect(provider.batches).toEqual([2]);
  });

  it('keeps running after a pass fails', async () => {
    let fail = true;
    class FlakyProvider extends CountingProvider {
      override async purgeExpired(before: Date, limit: number): Promise<number> {
        if (fail) throw new Error('database away');
        return super.purgeExpired(before, limit);
      }
    }
    const provider = new FlakyProvider({ clock: { now: () => at('2026-01-01T00:00:00Z') } });
    await provider.add(scope, { content: 'expired', expiresAt: at('2026-01-01T00:00:01Z') });
    const purger = new ExpiredMemoryPurger(provider, { now: () => at('2026-01-01T00:05:00Z') });
    purger.start({ everyMs: 20 });
    await new Promise((resolve) => setTimeout(resolve, 30));
    fail = false;
    await new Promise((resolve) => setTimeout(resolve, 60));
    await purger.stop();
    expect(provider.batches).toContain(1);
  });
});
