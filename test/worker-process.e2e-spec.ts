import { describe, expect, it } from '@jest/globals';
import { runBuiltApp } from '@engram/testing';

/** Runs the built worker (jest's global setup builds the apps once). */
describe('the worker process', () => {
  it('refuses to start without the shared Postgres and Redis, with one clear line', () => {
    const result = runBuiltApp('apps/worker/dist/main.js');
    expect(result.status).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('a separate worker needs REDIS_URL and DATABASE_URL');
  });
});
