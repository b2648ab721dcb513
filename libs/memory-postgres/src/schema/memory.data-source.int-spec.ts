import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { DataSource } from 'typeorm';
import { testDatabaseUrl } from '@engram/testing';
import { createMemoryDataSource } from './memory.data-source.js';

/** The entities, the hand-written migrations and the `typeorm` CLI must tell the same story. */
describe('the TypeORM data source of the memory schema', () => {
  let dataSource: DataSource;

  beforeAll(async () => {
    dataSource = createMemoryDataSource(testDatabaseUrl());
    await dataSource.initialize();
  });

  afterAll(async () => {
    await dataSource.destroy();
  });

  it('should find no pending migration where runMigrations has run (same bookkeeping table)', async () => {
    expect(await dataSource.showMigrations()).toBe(false);
  });

  it('should find no drift between the entities and the schema the migrations built', async () => {
    const pending = await dataSource.driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((query) => query.query)).toEqual([]);
  });
});
