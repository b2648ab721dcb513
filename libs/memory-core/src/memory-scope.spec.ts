import { describe, expect, it } from '@jest/globals';
import { MemoryException, MemoryExceptionCode } from './memory.exception.js';
import { assertScoped, inScope } from './memory-scope.js';
import { OSS_TENANT_ID, asTenantId } from './tenant.js';

describe('assertScoped', () => {
  it('refuses a scope with no user, agent or run', () => {
    expect(() => assertScoped({ tenantId: OSS_TENANT_ID })).toThrow(MemoryException);
    expect(() => assertScoped({ tenantId: OSS_TENANT_ID, namespace: 'x' })).toThrow(
      expect.objectContaining({ code: MemoryExceptionCode.SCOPE_REQUIRED }),
    );
  });

  it.each([{ userId: 'u' }, { agentId: 'a' }, { runId: 'r' }])('accepts %o', (owner) => {
    expect(() => assertScoped({ tenantId: OSS_TENANT_ID, ...owner })).not.toThrow();
  });
});

describe('inScope', () => {
  const owner = { tenantId: OSS_TENANT_ID, userId: 'alice', agentId: 'bot', runId: null, namespace: 'default' };

  it('matches when every named field matches', () => {
    expect(inScope({ tenantId: OSS_TENANT_ID, userId: 'alice' }, owner)).toBe(true);
    expect(inScope({ tenantId: OSS_TENANT_ID, userId: 'alice', agentId: 'bot' }, owner)).toBe(true);
  });

  it('should not match a memory of another user, run or tenant', () => {
    expect(inScope({ tenantId: OSS_TENANT_ID, userId: 'bob' }, owner)).toBe(false);
    expect(inScope({ tenantId: OSS_TENANT_ID, userId: 'alice', runId: 'r1' }, owner)).toBe(false);
    expect(inScope({ tenantId: asTenantId('11111111-1111-1111-1111-111111111111'), userId: 'alice' }, owner)).toBe(false);
  });
});
