import { describe, expect, it } from '@jest/globals';
import { OSS_TENANT_ID } from '@engram/memory-core';
import { EngramHttpMemoryProvider } from './engram-http.memory-provider.js';
import { createHttpMemoryProvider, httpDialectOf } from './http.memory-provider.js';
import { Mem0HttpMemoryProvider } from './mem0-http.memory-provider.js';

describe('httpDialectOf', () => {
  it.each([
    ['http://127.0.0.1:8080', 'engram'],
    ['https://memory.example.com/', 'engram'],
    ['https://example.com/engram/v1-proxy', 'engram'],
    ['http://127.0.0.1:8080/mem0', 'mem0'],
    ['http://127.0.0.1:8080/mem0/', 'mem0'],
    ['https://gateway.example.com/tenants/a/mem0', 'mem0'],
    ['https://api.mem0.ai', 'mem0'],
    ['https://example.com/mem0-archive', 'engram'],
  ])('should read %s as the %s dialect', (url, dialect) => {
    expect(httpDialectOf(url)).toBe(dialect);
  });
});

describe('createHttpMemoryProvider', () => {
  const tenants = new Map([[OSS_TENANT_ID, { apiKey: 'k' }]]);
  const options = { timeoutMs: 1_000, retries: 0, tenants };

  it("should speak an Engram's native API to an Engram root, and mem0's to a mem0 root", () => {
    expect(createHttpMemoryProvider({ ...options, baseUrl: 'http://127.0.0.1:8080' })).toBeInstanceOf(
      EngramHttpMemoryProvider,
    );
    expect(createHttpMemoryProvider({ ...options, baseUrl: 'http://127.0.0.1:8080/mem0' })).toBeInstanceOf(
      Mem0HttpMemoryProvider,
    );
  });

  it('should let an explicit dialect win over the URL', () => {
    expect(
      createHttpMemoryProvider({ ...options, baseUrl: 'http://proxy.example.com', dialect: 'mem0' }),
    ).toBeInstanceOf(Mem0HttpMemoryProvider);
  });

  it('should refuse a tenant without an API key or a signing secret', () => {
    expect(() =>
      createHttpMemoryProvider({
        ...options,
        baseUrl: 'http://127.0.0.1:8080',
        tenants: new Map([[OSS_TENANT_ID, {}]]),
      }),
    ).toThrow('needs an API key or a signing secret');
  });
});
