import { describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import {
  MemoryException,
  OSS_TENANT_ID,
  runInRequestContext,
  type AccessScope,
  type Principal,
} from '@engram/memory-core';
import { runTool } from './tool-call.js';

const tenant = (...scopes: AccessScope[]): Principal => ({
  kind: 'tenant',
  tenantId: OSS_TENANT_ID,
  scopes: new Set(scopes),
});
const as = <T>(principal: Principal, fn: () => Promise<T>) => runInRequestContext({ principal }, fn);
const text = (result: Awaited<ReturnType<typeof runTool>>) => (result.content[0] as { text: string }).text;

describe('runTool', () => {
  it('runs the call for a tenant key with the scope, as structured content and the same JSON in text', async () => {
    const result = await as(tenant('memories:read'), () =>
      runTool('get_memory', 'memories:read', async () => ({ a: 1 })),
    );
    expect(result).toEqual({ content: [{ type: 'text', text: '{"a":1}' }], structuredContent: { a: 1 } });
  });

  it('refuses a key without the tool’s scope, without running the call', async () => {
    const call = jest.fn(async () => ({}));
    const result = await as(tenant('memories:read'), () => runTool('add_memory', 'memories:write', call));
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/^FORBIDDEN: the API key lacks the scope memories:write, which add_memory needs/);
    expect(call).not.toHaveBeenCalled();
  });

  it('refuses a caller that is not a tenant, and a call outside any request', async () => {
    for (const run of [
      () => as({ kind: 'operator' }, () => runTool('list_memories', 'memories:read', async () => ({}))),
      () => as({ kind: 'anonymous' }, () => runTool('list_memories', 'memories:read', async () => ({}))),
      () => runTool('list_memories', 'memories:read', async () => ({})),
    ]) {
      const result = await run();
      expect(result.isError).toBe(true);
      expect(text(result)).toMatch(/^UNAUTHORIZED: /);
    }
  });

  it('names a core error by its code, with its details', async () => {
    const result = await as(tenant('memories:read'), () =>
      runTool('search_memories', 'memories:read', async () => {
        throw MemoryException.validation('limit must be at most 100', { field: 'limit' });
      }),
    );
    expect(result).toEqual({
      content: [{ type: 'text', text: 'VALIDATION_FAILED: limit must be at most 100\ndetails: {"field":"limit"}' }],
      isError: true,
    });
  });

  it('reports an unexpected error as INTERNAL_ERROR, without its message', async () => {
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    try {
      const result = await as(tenant('memories:read'), () =>
        runTool('search_memories', 'memories:read', async () => {
          throw new Error('connection string postgres://secret@db');
        }),
      );
      expect(result.isError).toBe(true);
      expect(text(result)).toBe('INTERNAL_ERROR: an unexpected error occurred');
    } finally {
      logged.mockRestore();
    }
  });
});
