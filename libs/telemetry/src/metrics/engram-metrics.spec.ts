import { describe, expect, it } from '@jest/globals';
import { EngramMetrics, type DbPoolSource } from './engram-metrics.js';

function pool(stats: ReturnType<DbPoolSource['poolStats']>): DbPoolSource {
  return { poolStats: () => stats };
}

describe('EngramMetrics database pool gauges', () => {
  it('should export no pool gauge in a process without a database', async () => {
    expect(await new EngramMetrics().render()).not.toContain('engram_db_pool');
  });

  it('should read every watched pool at scrape time and sum them', async () => {
    const sut = new EngramMetrics();
    const stats = { total: 3, idle: 1, waiting: 0, max: 10 };
    sut.watchDbPool(pool(stats));
    sut.watchDbPool(pool({ total: 1, idle: 1, waiting: 0, max: 2 }));
    stats.waiting = 4;

    const text = await sut.render();
    expect(text).toMatch(/^engram_db_pool_connections\{state="total"\} 4$/m);
    expect(text).toMatch(/^engram_db_pool_connections\{state="idle"\} 2$/m);
    expect(text).toMatch(/^engram_db_pool_connections\{state="waiting"\} 4$/m);
    expect(text).toMatch(/^engram_db_pool_max 12$/m);
  });
});
