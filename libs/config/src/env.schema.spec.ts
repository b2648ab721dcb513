import { describe, expect, it } from '@jest/globals';
import { ConfigException, loadConfig } from './env.schema.js';

describe('loadConfig', () => {
  it('gives the documented defaults for an empty environment', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 8080,
      host: '127.0.0.1',
      edition: 'oss',
      dataDir: './data',
      embeddings: { provider: 'local' },
      runWorkers: true,
      maxBodyBytes: 1_048_576,
      memoryProvider: 'postgres',
    });
    expect(config.databaseUrl).toBeUndefined();
    expect(config.redisUrl).toBeUndefined();
    expect(config.apiKey).toBeUndefined();
  });

  it('parses every documented variable', () => {
    const config = loadConfig({
      PORT: '9000',
      HOST: '0.0.0.0',
      ENGRAM_API_KEY: 'k',
      DATABASE_URL: 'postgres://u@127.0.0.1/db',
      REDIS_URL: 'redis://127.0.0.1:6379',
      EMBEDDINGS_PROVIDER: 'openai',
      EMBEDDINGS_BASE_URL: 'http://127.0.0.1:1234/v1',
      EMBEDDINGS_MODEL: 'nomic',
      EMBEDDINGS_DIMENSIONS: '768',
      WORKER: 'false',
      MAX_BODY_BYTES: '2048',
      MEMORY_PROVIDER: 'local',
      METRICS_PORT: '9464',
      SCOPE_CACHE_MB: '1024',
      SCOPE_CACHE_MIN_MEMORIES: '500',
      VECTOR_INDEX: 'none',
    });
    expect(config.vectorIndex).toBe('none');
    expect(config.scopeCache).toEqual({ maxBytes: 1024 * 1024 * 1024, minMemories: 500 });
    expect(config.port).toBe(9000);
    expect(config.metricsPort).toBe(9464);
    expect(config.apiKey?.reveal()).toBe('k');
    expect(config.embeddings).toEqual({
      provider: 'openai',
      baseUrl: 'http://127.0.0.1:1234/v1',
      model: 'nomic',
      apiKey: undefined,
      dimensions: 768,
    });
    expect(config.runWorkers).toBe(false);
    expect(config.maxBodyBytes).toBe(2048);
    expect(config.memoryProvider).toBe('local');
  });

  it('never shows secrets when the config is logged', () => {
    const config = loadConfig({ ENGRAM_API_KEY: 'super-secret', DATABASE_URL: 'postgres://u:pw@h/db' });
    expect(JSON.stringify(config)).not.toContain('super-secret');
    expect(JSON.stringify(config)).not.toContain('pw@');
    expect(`${config.apiKey}`).toBe('[secret]');
  });

  it.each([
    [{ PORT: 'eighty' }, /PORT must be an integer/],
    [{ PORT: '70000' }, /PORT must be an integer from 0 to 65535/],
    [{ METRICS_PORT: 'prometheus' }, /METRICS_PORT must be an integer/],
    [{ SCOPE_CACHE_MB: '-1' }, /SCOPE_CACHE_MB must be an integer from 0/],
    [{ SCOPE_CACHE_MIN_MEMORIES: '0' }, /SCOPE_CACHE_MIN_MEMORIES must be an integer from 1/],
    [{ EDITION: 'enterprise' }, /EDITION/],
    [{ EMBEDDINGS_PROVIDER: 'magic' }, /EMBEDDINGS_PROVIDER/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL must be a URL/],
    [{ REDIS_URL: 'not a url' }, /REDIS_URL must be a URL/],
    [{ WORKER: 'maybe' }, /WORKER must be true or false/],
    [{ MEMORY_PROVIDER: 'sqlite' }, /MEMORY_PROVIDER/],
    [{ EMBEDDINGS_PROVIDER: 'openai' }, /EMBEDDINGS_MODEL/],
    [{ HOST: '0.0.0.0' }, /set ENGRAM_API_KEY or bind HOST to 127.0.0.1/],
    [{ EDITION: 'cloud' }, /EDITION=cloud needs DATABASE_URL and ENGRAM_ADMIN_TOKEN/],
    [{ WORKER: 'false' }, /WORKER=false needs REDIS_URL/],
    [{ LLM_BASE_URL: 'http://127.0.0.1:1/v1' }, /LLM_MODEL/],
  ])('refuses %o with one clear line', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigException);
    expect(() => loadConfig(env)).toThrow(message);
    try {
      loadConfig(env);
    } catch (error) {
      expect((error as Error).message).not.toContain('\n');
    }
  });

  it('lists every problem at once', () => {
    expect(() => loadConfig({ PORT: 'x', WORKER: 'maybe' })).toThrow(/PORT.*WORKER/);
  });
});
