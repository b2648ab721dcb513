import 'reflect-metadata';
import { ConfigException, loadConfig } from '@engram/config';
import { createMemoryDataSource } from './schema/memory.data-source.js';

/**
 * The file the `typeorm` CLI loads (`npx typeorm -d libs/memory-postgres/dist/data-source.js migration:show`):
 * the memory schema on the owner connection, DATABASE_URL. Not imported by the application.
 */
const url = loadConfig().databaseUrl?.reveal();
if (url === undefined) throw new ConfigException('invalid configuration: the typeorm CLI needs DATABASE_URL');

export default createMemoryDataSource(url);
