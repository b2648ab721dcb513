import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestApp, type TestApp } from './api-test.app.js';
import { routeRules } from './route-rules.js';

describe('every route declares who may call it', () => {
  let api: TestApp;
  beforeAll(async () => {
    api = await startTestApp({ ENGRAM_API_KEY: 'route-table-key' });
  });
  afterAll(() => api.close());

  it('finds the routes of the app', () => {
    const routes = routeRules(api.app).map((r) => r.route);
    expect(routes).toEqual(expect.arrayContaining(['POST /v1/memories/search', 'GET /health']));
  });

  it('has an access rule (public, tenant scopes or operator) on every route', () => {
    const unguarded = routeRules(api.app)
      .filter((r) => r.rule === undefined)
      .map((r) => r.route);
    expect(unguarded).toEqual([]);
  });

  it('makes only liveness and readiness public', () => {
    const open = routeRules(api.app)
      .filter((r) => r.rule?.audience === 'public')
      .map((r) => r.route);
    expect(open.sort()).toEqual(['GET /health', 'GET /ready']);
  });

  it('asks reads for memories:read and writes for memories:write', async () => {
    const rules = new Map(routeRules(api.app).map((r) => [r.route, r.rule]));
    expect(rules.get('POST /v1/memories/search')).toEqual({ audience: 'tenant', scopes: ['memories:read'] });
    expect(rules.get('DELETE /v1/memories/:id')).toEqual({ audience: 'tenant', scopes: ['memories:write'] });
  });
});
