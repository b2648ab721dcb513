import 'reflect-metadata';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { loadConfig } from '@engram/config';
import { MemoryService, OSS_TENANT_ID } from '@engram/memory-core';
import { SQL_INSTRUMENTATION } from '@engram/memory-postgres';
import { EngramRuntimeModule } from '@engram/runtime';
import { createScratchDatabase, type ScratchDatabase } from '@engram/testing';
import { ObservedSqlInstrumentation } from './database/observed.sql-instrumentation.js';
import { EngramMetrics } from './metrics/engram-metrics.js';
import { TelemetryModule } from './telemetry.module.js';

/** The runtime's Postgres backend, composed with the telemetry as the apps do: its request pool is on /metrics. */
describe('TelemetryModule with the Postgres backend', () => {
  let database: ScratchDatabase;
  let dataDir: string;
  let app: INestApplicationContext;

  beforeAll(async () => {
    database = await createScratchDatabase();
    dataDir = await mkdtemp(join(tmpdir(), 'engram-telemetry-'));
    const config = loadConfig({ DATABASE_URL: database.url, DATA_DIR: dataDir, EMBEDDINGS_PROVIDER: 'hash' });
    @Module({
      imports: [EngramRuntimeModule.forRoot(config), TelemetryModule.forRoot({ serviceName: 'engram-test' })],
    })
    class TestModule {}
    app = await NestFactory.createApplicationContext(TestModule, { logger: false });
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('should export the request pool of the memory provider, moving as it is used', async () => {
    expect(app.get(SQL_INSTRUMENTATION)).toBeInstanceOf(ObservedSqlInstrumentation);
    const metrics = app.get(EngramMetrics);
    expect(await metrics.render()).toMatch(/^engram_db_pool_max 10$/m);

    await app.get(MemoryService).list({ tenantId: OSS_TENANT_ID, userId: 'pool-user' }, { limit: 5 });

    const total = /^engram_db_pool_connections\{state="total"\} (\d+)$/m.exec(await metrics.render())?.[1];
    expect(Number(total)).toBeGreaterThan(0);
  });
});
